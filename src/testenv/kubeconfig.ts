import { stringify } from 'yaml';

/** Renders a kubeconfig for one bearer-token identity against the local apiserver. */
export function renderKubeconfig(options: {
  server: string;
  caPem: string;
  user: string;
  token: string;
}): string {
  return stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'tenantmesh-local',
          cluster: {
            server: options.server,
            'certificate-authority-data': Buffer.from(options.caPem).toString('base64'),
          },
        },
      ],
      users: [{ name: options.user, user: { token: options.token } }],
      contexts: [{ name: options.user, context: { cluster: 'tenantmesh-local', user: options.user } }],
      'current-context': options.user,
    },
    { version: '1.1', lineWidth: 0 },
  );
}
