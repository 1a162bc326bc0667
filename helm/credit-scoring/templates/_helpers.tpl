{{/*
Naming, labels and small shared snippets of the credit-scoring chart.
*/}}

{{/* Chart name, overridable with nameOverride; 63 characters at most (DNS label). */}}
{{- define "credit-scoring.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Object name: fullnameOverride, else release name + chart name (without repeating the chart name). */}}
{{- define "credit-scoring.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* chart label value: name-version. */}}
{{- define "credit-scoring.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels that select the scoring pods (immutable once a Deployment exists). */}}
{{- define "credit-scoring.selectorLabels" -}}
app.kubernetes.io/name: {{ include "credit-scoring.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: scoring
{{- end }}

{{/* Labels of every object: recommended labels plus commonLabels. */}}
{{- define "credit-scoring.labels" -}}
helm.sh/chart: {{ include "credit-scoring.chart" . }}
app.kubernetes.io/name: {{ include "credit-scoring.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: credit-scoring
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
metadata.annotations block (indented for metadata, with its own leading newline; nothing when empty):
commonAnnotations merged with the object's own annotations passed as .extra (which win).
*/}}
{{- define "credit-scoring.annotations" -}}
{{- $all := merge (deepCopy (.extra | default dict)) (deepCopy (.root.Values.commonAnnotations | default dict)) }}
{{- with $all }}
{{- printf "annotations:\n%s" (toYaml . | indent 2) | nindent 2 }}
{{- end }}
{{- end }}

{{/* Name of the ServiceAccount the pods use. */}}
{{- define "credit-scoring.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "credit-scoring.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Image reference: repository@digest when a digest is set, else repository:tag (tag defaults to appVersion). */}}
{{- define "credit-scoring.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Name of the ConfigMap holding the containers' settings. */}}
{{- define "credit-scoring.settingsName" -}}
{{- printf "%s-settings" (include "credit-scoring.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Environment variables both containers need for a read-only root filesystem. */}}
{{- define "credit-scoring.writableEnv" -}}
- name: BENTOML_HOME
  value: {{ .Values.volumes.bentomlHomePath | quote }}
- name: TMPDIR
  value: /tmp
- name: MPLCONFIGDIR
  value: /tmp/matplotlib
- name: NUMBA_CACHE_DIR
  value: /tmp/numba
- name: PYTHONDONTWRITEBYTECODE
  value: "1"
{{- end }}

{{/*
checkov findings the chart accepts on purpose, as checkov skip annotations (reason after the "=").
.image true adds the image-related ones, which do not apply when the image is pinned by digest.
*/}}
{{- define "credit-scoring.checkovSkips" -}}
{{- $skips := list "CKV_K8S_40=BentoML images run as their own user, uid 1034, which owns the Bento files; non-root is enforced" }}
{{- if not .root.Values.image.digest }}
{{- $skips = append $skips "CKV_K8S_43=image.digest pins the image by digest; releases may use immutable tags instead" }}
{{- end }}
{{- if ne .root.Values.image.pullPolicy "Always" }}
{{- $skips = append $skips "CKV_K8S_15=IfNotPresent is safe with immutable tags or digests and avoids a registry round trip per pod" }}
{{- end }}
{{- range .extra }}
{{- $skips = append $skips . }}
{{- end }}
{{- $out := dict }}
{{- range $i, $skip := $skips }}
{{- $_ := set $out (printf "checkov.io/skip%d" (add1 $i)) $skip }}
{{- end }}
{{- toYaml $out }}
{{- end }}

{{/* Whether the performance job is rendered ("true" or empty): it needs the decision store. */}}
{{- define "credit-scoring.performanceJobEnabled" -}}
{{- if and .Values.decisionStore.enabled .Values.decisionStore.performanceJob.enabled }}true{{ end }}
{{- end }}

{{/* Name of the performance job's Deployment, Service, ServiceMonitor and NetworkPolicy. */}}
{{- define "credit-scoring.performanceName" -}}
{{- printf "%s-performance" (include "credit-scoring.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels that select the performance job's pod and Service (never the scoring pods'). */}}
{{- define "credit-scoring.performanceSelectorLabels" -}}
app.kubernetes.io/name: {{ include "credit-scoring.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: performance
{{- end }}

{{/*
The decision store's URL, read from the existing Secret (never from values or the ConfigMap), as the
variable the sidecar and `python -m monitoring performance` both read.
*/}}
{{- define "credit-scoring.decisionStoreEnv" -}}
- name: CREDIT_SCORING_MONITOR_DECISION_STORE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.decisionStore.existingSecret | quote }}
      key: {{ .Values.decisionStore.secretKey | quote }}
{{- end }}

{{/* checkov skip of the decision store's Secret read as an environment variable (with its reason). */}}
{{- define "credit-scoring.decisionStoreCheckovSkip" -}}
CKV_K8S_35=the decision store URL comes from an existing Secret by secretKeyRef into CREDIT_SCORING_MONITOR_DECISION_STORE_URL, the one variable the monitoring CLI reads; it is never in values or the ConfigMap
{{- end }}

{{/* NetworkPolicy egress rule to the decision store's database (TCP port, CIDRs and peers). */}}
{{- define "credit-scoring.databaseEgress" -}}
{{- $db := .Values.decisionStore.database }}
{{- if not (or $db.cidrs $db.peers) }}
{{- fail "decisionStore.enabled with networkPolicy.enabled needs decisionStore.database.cidrs or decisionStore.database.peers: the NetworkPolicies allow egress to the database there only" }}
{{- end }}
- ports:
    - port: {{ $db.port }}
      protocol: TCP
  to:
    {{- range $db.cidrs }}
    - ipBlock:
        cidr: {{ . }}
    {{- end }}
    {{- with $db.peers }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end }}
