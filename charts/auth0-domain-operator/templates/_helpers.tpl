{{/*
Name of the app (the `app.kubernetes.io/name` label): the chart name unless nameOverride.
*/}}
{{- define "a0do.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Full name of the objects: fullnameOverride, else the release name when it already contains the
app name (`helm install auth0-domain-operator …` gives deploy/base's names), else
`<release>-<name>`.
*/}}
{{- define "a0do.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "a0do.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Labels of every object: the app name (as deploy/base), part-of (deploy/base's kustomize label)
and Helm's bookkeeping labels.
*/}}
{{- define "a0do.labels" -}}
app.kubernetes.io/name: {{ include "a0do.name" . }}
app.kubernetes.io/part-of: {{ include "a0do.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{/*
Selector of the operator's pods (deploy/base's: name and component, so one install per
namespace).
*/}}
{{- define "a0do.selectorLabels" -}}
app.kubernetes.io/name: {{ include "a0do.name" . }}
app.kubernetes.io/component: controller
{{- end -}}

{{- define "a0do.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "a0do.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
The namespace the operator watches with rbac.scope=namespaced.
*/}}
{{- define "a0do.watchNamespace" -}}
{{- default .Release.Namespace .Values.rbac.watchNamespace -}}
{{- end -}}

{{/*
Checks of value combinations that would render a broken install.
*/}}
{{- define "a0do.validate" -}}
{{- if not (has .Values.rbac.scope (list "cluster" "namespaced")) -}}
{{- fail (printf "rbac.scope must be `cluster` or `namespaced`, not %q" (toString .Values.rbac.scope)) -}}
{{- end -}}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.leaderElection.enabled) -}}
{{- fail "replicaCount > 1 needs leaderElection.enabled: without a Lease every replica would reconcile" -}}
{{- end -}}
{{- if and .Values.serviceMonitor.enabled (not .Values.metrics.enabled) -}}
{{- fail "serviceMonitor.enabled needs metrics.enabled (the ServiceMonitor selects the metrics Service)" -}}
{{- end -}}
{{- if not (has .Values.operator.logFormat (list "json" "text")) -}}
{{- fail (printf "operator.logFormat must be `json` or `text`, not %q" (toString .Values.operator.logFormat)) -}}
{{- end -}}
{{- end -}}

{{/*
Rules for the namespaced resources: in the ClusterRole with rbac.scope=cluster, in the Role of
the watched namespace with rbac.scope=namespaced.
*/}}
{{- define "a0do.namespacedRules" }}
# Controllers' watches and the reconcilers' writes.
- apiGroups: [auth0.domain-operator.dev]
  resources: [customdomains]
  verbs: [get, list, watch, patch]     # get: read fresh before planning; patch: the finalizer
- apiGroups: [auth0.domain-operator.dev]
  resources: [customdomains/status]
  verbs: [patch]                       # server-side apply of the status
# The CustomDomains' edge Secrets, by name only (no list or watch of Secrets here).
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, create, patch]
# Optional children of a CustomDomain (spec.dnsEndpoint, spec.certificate.issuerRef): server-side
# apply (authorized as create when the object is new, patch otherwise) and delete when switched off.
- apiGroups: [externaldns.k8s.io]
  resources: [dnsendpoints]
  verbs: [get, create, patch, delete]
- apiGroups: [cert-manager.io]
  resources: [certificates]
  verbs: [get, create, patch, delete]
# kube-runtime's Recorder: create, then patch the series count of a repeated Event.
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create, patch]
{{- end }}
