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

{{/* Fails the install when a digest value (list: its key, its value) is set but not sha256:<64 lowercase hex digits>. */}}
{{- define "graminsta-operator.checkDigest" -}}
{{- $key := index . 0 -}}
{{- $value := index . 1 -}}
{{- if and $value (not (regexMatch "^sha256:[a-f0-9]{64}$" $value)) -}}
{{- fail (printf "%s: %q is not a digest: expected sha256: and 64 lowercase hex digits" $key $value) -}}
{{- end -}}
{{- end -}}

{{/* Fails the install when an image reference value (list: its key, its value) carries a malformed @digest. */}}
{{- define "graminsta-operator.checkImageDigest" -}}
{{- $key := index . 0 -}}
{{- $value := index . 1 -}}
{{- if and (contains "@" $value) (not (regexMatch "@sha256:[a-f0-9]{64}$" $value)) -}}
{{- fail (printf "%s: %q has a malformed digest: expected @sha256: and 64 lowercase hex digits" $key $value) -}}
{{- end -}}
{{- end -}}

{{/* The operator image reference: repository@digest when a digest is set, else repository:tag. */}}
{{- define "graminsta-operator.image" -}}
{{- include "graminsta-operator.checkDigest" (list "image.digest" .Values.image.digest) -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The default photo service image reference. */}}
{{- define "graminsta-operator.serviceImage" -}}
{{- include "graminsta-operator.checkDigest" (list "serviceImage.digest" .Values.serviceImage.digest) -}}
{{- if .Values.serviceImage.digest -}}
{{- printf "%s@%s" .Values.serviceImage.repository .Values.serviceImage.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.serviceImage.repository (default .Chart.AppVersion .Values.serviceImage.tag) -}}
{{- end -}}
{{- end -}}
