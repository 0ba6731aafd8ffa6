{{- define "tenantmesh.labels" -}}
app.kubernetes.io/name: tenantmesh
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "tenantmesh.podSecurity" -}}
securityContext:
  runAsNonRoot: true
  runAsUser: 65532
  readOnlyRootFilesystem: true
  allowPrivilegeEscalation: false
  capabilities: { drop: [ALL] }
  seccompProfile: { type: RuntimeDefault }
{{- end -}}

{{- define "tenantmesh.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag }}
{{- end -}}

{{/* The object store's credentials, under the names both processes read. */}}
{{- define "tenantmesh.storageEnv" -}}
- { name: TENANTMESH_S3_ACCESS_KEY, valueFrom: { secretKeyRef: { name: {{ .Values.storage.credentialsSecret }}, key: accessKey } } }
- { name: TENANTMESH_S3_SECRET_KEY, valueFrom: { secretKeyRef: { name: {{ .Values.storage.credentialsSecret }}, key: secretKey } } }
{{- end -}}

{{/* The registry's PostgreSQL, from its connection Secret: the API serves the registries, the operator mirrors
endpoints into them. Nothing when registry.databaseSecret is empty. */}}
{{- define "tenantmesh.registryDatabaseEnv" -}}
{{- with .Values.registry.databaseSecret }}
- { name: PGHOST, valueFrom: { secretKeyRef: { name: {{ . }}, key: host } } }
- { name: PGPORT, valueFrom: { secretKeyRef: { name: {{ . }}, key: port } } }
- { name: PGUSER, valueFrom: { secretKeyRef: { name: {{ . }}, key: user } } }
- { name: PGPASSWORD, valueFrom: { secretKeyRef: { name: {{ . }}, key: password } } }
- { name: PGDATABASE, valueFrom: { secretKeyRef: { name: {{ . }}, key: database } } }
- { name: PGSSLMODE, value: {{ $.Values.registry.sslMode | quote }} }
{{- end }}
{{- end -}}

{{/* The configuration file, and the OIDC CA bundles it may refer to. */}}
{{- define "tenantmesh.configVolumeMounts" -}}
- { name: config, mountPath: /etc/tenantmesh/config, readOnly: true }
{{- if .Values.oidc.caConfigMap }}
- { name: oidc-ca, mountPath: /etc/tenantmesh/oidc-ca, readOnly: true }
{{- end }}
{{- end -}}

{{- define "tenantmesh.configVolumes" -}}
- name: config
  configMap: { name: tenantmesh-config }
{{- if .Values.oidc.caConfigMap }}
- name: oidc-ca
  configMap: { name: {{ .Values.oidc.caConfigMap }} }
{{- end }}
{{- end -}}
