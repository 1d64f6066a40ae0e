{{- define "bosun.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}{{ .Release.Name | trunc 63 | trimSuffix "-" }}{{ else }}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{ end }}
{{- end }}

{{- define "bosun.serviceAccountName" -}}
{{- default (include "bosun.fullname" .) .Values.serviceAccount.name }}
{{- end }}

{{- define "bosun.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "bosun.labels" -}}
{{ include "bosun.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{/* A Secret reference as NAMESPACE/NAME: a bare NAME is in the release namespace. */}}
{{- define "bosun.secretRef" -}}
{{- if contains "/" .ref }}{{ .ref }}{{ else }}{{ printf "%s/%s" .namespace .ref }}{{ end }}
{{- end }}

{{/* The flags of the HTTP side, shared by `bosun run` and `bosun serve`. */}}
{{- define "bosun.httpArgs" -}}
- --http-address=:{{ .Values.http.port }}
{{- with .Values.http.tokensSecret }}
- --tokens-secret={{ include "bosun.secretRef" (dict "ref" . "namespace" $.Release.Namespace) }}
{{- end }}
{{- if .Values.http.publicReads }}
- --public-reads
{{- end }}
{{- with .Values.http.githubOAuthSecret }}
- --github-oauth-secret={{ include "bosun.secretRef" (dict "ref" . "namespace" $.Release.Namespace) }}
{{- end }}
{{- with .Values.github.webUrl }}
- --github-web-url={{ . }}
{{- end }}
{{- end }}

{{/* Labels of the `bosun serve` pods: apart from the operator's selector. */}}
{{- define "bosun.serveSelectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}-serve
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}
