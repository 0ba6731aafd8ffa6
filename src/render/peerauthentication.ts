import { PEER_AUTHENTICATION_NAME, commonLabels } from '../domain/index.ts';
import type { KubeObject, PlatformConfig } from '../domain/index.ts';
import { objectMeta } from './meta.ts';

/**
 * STRICT mTLS for the whole serving namespace: no plaintext path to a serving pod, so every caller has a
 * mesh identity the ALLOW policies can check. Shared by all tenants, hence rendered once per platform.
 */
export function renderPeerAuthentication(platform: PlatformConfig): KubeObject {
  return {
    apiVersion: 'security.istio.io/v1',
    kind: 'PeerAuthentication',
    metadata: objectMeta(PEER_AUTHENTICATION_NAME, platform.servingNamespace, commonLabels('authz')),
    spec: { mtls: { mode: 'STRICT' } },
  };
}
