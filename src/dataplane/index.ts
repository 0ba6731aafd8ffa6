/** The data plane as Envoy sees it: a static bootstrap derived from the rendered Istio objects. */
export {
  envoyBootstrap,
  envoyBootstrapYaml,
  clusterName,
  GatewayConfigError,
  EXT_AUTHZ_TIMEOUT,
  EXT_AUTHZ_STATUS_ON_ERROR,
} from './envoy-config.ts';
export type { Destination, EnvoyBootstrapOptions, SocketAddress } from './envoy-config.ts';
