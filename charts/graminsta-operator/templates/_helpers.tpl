{{/* The release's full name, at most 63 characters. */}}
{{- define "graminsta-operator.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels that select the operator pods. */}}
{{- define "graminsta-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels on every object the chart creates. */}}
{{- define "graminsta-operator.labels" -}}
{{ include "graminsta-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: graminsta
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* The operator's ServiceAccount name. */}}
{{- define "graminsta-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "graminsta-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The operator image reference. */}}
{{- define "graminsta-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The default photo service image reference. */}}
{{- define "graminsta-operator.serviceImage" -}}
{{- if .Values.serviceImage.digest -}}
{{- printf "%s@%s" .Values.serviceImage.repository .Values.serviceImage.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.serviceImage.repository (default .Chart.AppVersion .Values.serviceImage.tag) -}}
{{- end -}}
{{- end -}}
