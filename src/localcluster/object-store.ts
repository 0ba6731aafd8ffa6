import type { KubeObject } from '../kube/index.ts';
import { restrictedContainerSecurity } from './pod-security.ts';

/**
 * The object store the chart's default `storage.endpoint` names (http://minio.tenantmesh-system.svc:9000): MinIO as
 * one Pod with an emptyDir, its root credentials taken from the chart's storage Secret (keys accessKey, secretKey),
 * so the API and the operator log in with exactly what the chart hands them.
 */
export function renderObjectStore(options: {
  image: string;
  namespace: string;
  credentialsSecret: string;
}): KubeObject[] {
  // The chart's default servingEgress.storage.podLabels: serving Pods may reach the store by this label.
  const labels = { app: 'minio' };
  const fromSecret = (name: string, key: string) => ({
    name,
    valueFrom: { secretKeyRef: { name: options.credentialsSecret, key } },
  });
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'minio', namespace: options.namespace, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            automountServiceAccountToken: false,
            containers: [
              {
                name: 'minio',
                image: options.image,
                imagePullPolicy: 'Never',
                args: ['server', '/data', '--address=:9000', '--console-address=:9001'],
                env: [
                  fromSecret('MINIO_ROOT_USER', 'accessKey'),
                  fromSecret('MINIO_ROOT_PASSWORD', 'secretKey'),
                  // MinIO keeps its certificates directory under $HOME; the root file system is read-only.
                  { name: 'HOME', value: '/home/minio' },
                ],
                ports: [{ name: 'http', containerPort: 9000 }],
                readinessProbe: { httpGet: { path: '/minio/health/ready', port: 9000 }, periodSeconds: 2 },
                resources: { requests: { cpu: '20m', memory: '128Mi' }, limits: { memory: '512Mi' } },
                securityContext: restrictedContainerSecurity(65532),
                volumeMounts: [
                  { name: 'data', mountPath: '/data' },
                  { name: 'home', mountPath: '/home/minio' },
                ],
              },
            ],
            securityContext: { fsGroup: 65532 },
            volumes: [
              { name: 'data', emptyDir: {} },
              { name: 'home', emptyDir: {} },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'minio', namespace: options.namespace, labels },
      spec: {
        selector: labels,
        ports: [{ name: 'http', port: 9000, targetPort: 9000, appProtocol: 'http' }],
      },
    },
  ] as KubeObject[];
}
