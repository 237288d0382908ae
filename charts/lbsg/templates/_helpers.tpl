{{/* The chart name, or nameOverride. */}}
{{- define "lbsg.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The name of the release's objects: fullnameOverride, else the release name when it
contains the chart name, else release-chart. */}}
{{- define "lbsg.fullname" -}}
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

{{- define "lbsg.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "lbsg.selectorLabels" -}}
app.kubernetes.io/name: {{ include "lbsg.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "lbsg.labels" -}}
helm.sh/chart: {{ include "lbsg.chart" . }}
{{ include "lbsg.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.additionalLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "lbsg.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "lbsg.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false: name the ServiceAccount lbsg runs as" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "lbsg.ingressClassParamsName" -}}
{{- default (include "lbsg.fullname" .) .Values.ingressClassParams.name }}
{{- end }}

{{/* A map as k1=v1,k2=v2 (keys sorted). */}}
{{- define "lbsg.mapToCSV" -}}
{{- $pairs := list }}
{{- range $k, $v := . }}
{{- $pairs = append $pairs (printf "%s=%v" $k $v) }}
{{- end }}
{{- join "," $pairs }}
{{- end }}

{{/* The feature gates: featureGates, then controllerConfig.featureGates over them. */}}
{{- define "lbsg.featureGates" -}}
{{- $gates := dict }}
{{- range $k, $v := (.Values.featureGates | default dict) }}
{{- $_ := set $gates $k $v }}
{{- end }}
{{- range $k, $v := ((.Values.controllerConfig | default dict).featureGates | default dict) }}
{{- $_ := set $gates $k $v }}
{{- end }}
{{- include "lbsg.mapToCSV" $gates }}
{{- end }}

{{/* enableBackendSecurityGroup, or its other name enableBackendSG; "" when neither is set. */}}
{{- define "lbsg.enableBackendSG" -}}
{{- $a := .Values.enableBackendSecurityGroup }}
{{- $b := .Values.enableBackendSG }}
{{- if and (kindIs "bool" $a) (kindIs "bool" $b) (ne $a $b) }}
{{- fail (printf "enableBackendSecurityGroup (%v) and enableBackendSG (%v) disagree: set only enableBackendSecurityGroup" $a $b) }}
{{- end }}
{{- if kindIs "bool" $a }}{{ $a }}{{ else if kindIs "bool" $b }}{{ $b }}{{ end }}
{{- end }}

{{/* The port of a bind address such as ":8080" or "0.0.0.0:8080"; the default when empty. */}}
{{- define "lbsg.metricsPort" -}}
{{- $addr := .Values.metricsBindAddr | default "" | toString }}
{{- $parts := splitList ":" $addr }}
{{- last $parts | default "8080" }}
{{- end }}

{{/* The controller's arguments, one "--flag=value" per line. Each upstream value becomes
the flag upstream's chart passes; an empty value passes nothing, so the flag keeps its
default. */}}
{{- define "lbsg.args" -}}
--cluster-name={{ required "clusterName is required: set it to the cluster's EKS name (--set clusterName=NAME)" (tpl (.Values.clusterName | default "" | toString) .) }}
--enable-leader-election=true
--leader-election-namespace={{ .Release.Namespace }}
{{- if and .Values.ingressClass (ne (toString .Values.ingressClass) "alb") }}
--ingress-class={{ .Values.ingressClass }}
{{- end }}
{{- with tpl (.Values.region | default "" | toString) . }}
--aws-region={{ . }}
{{- end }}
{{- with tpl (.Values.vpcId | default "" | toString) . }}
--aws-vpc-id={{ . }}
{{- end }}
{{- with .Values.vpcTags }}
--aws-vpc-tags={{ include "lbsg.mapToCSV" . }}
{{- end }}
{{- with .Values.awsApiEndpoints }}
--aws-api-endpoints={{ . }}
{{- end }}
{{- with .Values.awsApiThrottle }}
--aws-api-throttle={{ join "," . }}
{{- end }}
{{- if not (kindIs "invalid" .Values.awsMaxRetries) }}
--aws-max-retries={{ .Values.awsMaxRetries }}
{{- end }}
{{- with .Values.metricsBindAddr }}
--metrics-bind-addr={{ . }}
{{- end }}
{{- with .Values.logLevel }}
--log-level={{ . }}
{{- end }}
{{- with .Values.serviceMaxConcurrentReconciles }}
--service-max-concurrent-reconciles={{ . }}
{{- end }}
{{- with .Values.ingressMaxConcurrentReconciles }}
--ingress-max-concurrent-reconciles={{ . }}
{{- end }}
{{- with .Values.syncPeriod }}
--sync-period={{ . }}
{{- end }}
{{- with .Values.watchNamespace }}
--watch-namespace={{ . }}
{{- end }}
{{- with .Values.externalManagedTags }}
--external-managed-tags={{ join "," . }}
{{- end }}
{{- with .Values.defaultTags }}
--default-tags={{ include "lbsg.mapToCSV" . }}
{{- end }}
{{- with include "lbsg.enableBackendSG" . }}
--enable-backend-security-group={{ . }}
{{- end }}
{{- if kindIs "bool" .Values.enableManageBackendSecurityGroupRules }}
--enable-manage-backend-security-group-rules={{ .Values.enableManageBackendSecurityGroupRules }}
{{- end }}
{{- with .Values.backendSecurityGroup }}
--backend-security-group={{ . }}
{{- end }}
{{- if kindIs "bool" .Values.disableRestrictedSecurityGroupRules }}
--disable-restricted-sg-rules={{ .Values.disableRestrictedSecurityGroupRules }}
{{- end }}
{{- with include "lbsg.featureGates" . }}
--feature-gates={{ . }}
{{- end }}
{{- if and .Values.defaultTargetType (ne (toString .Values.defaultTargetType) "instance") }}
--default-target-type={{ .Values.defaultTargetType }}
{{- end }}
{{- with .Values.defaultLoadBalancerScheme }}
--default-load-balancer-scheme={{ . }}
{{- end }}
{{- with .Values.serviceTargetENISGTags }}
--service-target-eni-security-group-tags={{ if kindIs "map" . }}{{ include "lbsg.mapToCSV" . }}{{ else }}{{ . }}{{ end }}
{{- end }}
{{- with .Values.loadBalancerClass }}
--load-balancer-class={{ . }}
{{- end }}
{{- with .Values.targetSGRuleBudget }}
--target-sg-rule-budget={{ . }}
{{- end }}
{{- with .Values.targetSGSelection }}
--target-sg-selection={{ . }}
{{- end }}
{{- with .Values.ingressGroupNamespaces }}
--ingress-group-namespaces={{ . }}
{{- end }}
{{- range $flag, $key := dict "disable-ingress-class-annotation" "disableIngressClassAnnotation" "disable-ingress-group-name-annotation" "disableIngressGroupNameAnnotation" }}
{{- $v := index $.Values $key }}
{{- if kindIs "bool" $v }}
--{{ $flag }}={{ $v }}
{{- end }}
{{- end }}
{{- with .Values.sgRulesQuota }}
--sg-rules-quota={{ . }}
{{- end }}
{{- with .Values.driftCheckInterval }}
--drift-check-interval={{ . }}
{{- end }}
{{- with .Values.reconcileTimeout }}
--reconcile-timeout={{ . }}
{{- end }}
{{- with .Values.awsApiTimeout }}
--aws-api-timeout={{ . }}
{{- end }}
{{- if kindIs "bool" .Values.enablePodReadinessGateInject }}
--enable-pod-readiness-gate-inject={{ .Values.enablePodReadinessGateInject }}
{{- end }}
{{- with .Values.webhookBindPort }}
--webhook-bind-port={{ . }}
{{- end }}
{{- /* Upstream flags lbsg accepts and ignores (it logs them at start). */}}
{{- range $flag, $key := dict "enable-shield" "enableShield" "enable-waf" "enableWaf" "enable-wafv2" "enableWafv2" "enable-endpoint-slices" "enableEndpointSlices" "tolerate-non-existent-backend-service" "tolerateNonExistentBackendService" "tolerate-non-existent-backend-action" "tolerateNonExistentBackendAction" }}
{{- $v := index $.Values $key }}
{{- if kindIs "bool" $v }}
--{{ $flag }}={{ $v }}
{{- end }}
{{- end }}
{{- range $flag, $key := dict "default-ssl-policy" "defaultSSLPolicy" "targetgroupbinding-max-concurrent-reconciles" "targetgroupbindingMaxConcurrentReconciles" "targetgroupbinding-max-exponential-backoff-delay" "targetgroupbindingMaxExponentialBackoffDelay" "targetgroupbinding-requeue-duration" "targetgroupbindingRequeueDuration" "alb-gateway-max-concurrent-reconciles" "albGatewayMaxConcurrentReconciles" "nlb-gateway-max-concurrent-reconciles" "nlbGatewayMaxConcurrentReconciles" "globalaccelerator-max-concurrent-reconciles" "globalAcceleratorMaxConcurrentReconciles" "globalaccelerator-max-exponential-backoff-delay" "globalAcceleratorMaxExponentialBackoffDelay" "lb-stabilization-monitor-interval" "lbStabilizationMonitorInterval" "max-targets-per-target-group" "maxTargetsPerTargetGroup" }}
{{- with index $.Values $key }}
--{{ $flag }}={{ . }}
{{- end }}
{{- end }}
{{- with (.Values.certDiscovery | default dict).allowedCertificateAuthorityARNs }}
--allowed-certificate-authority-arns={{ . }}
{{- end }}
{{- with (.Values.certManagement | default dict).defaultPCAARN }}
--default-pca-arn={{ . }}
{{- end }}
{{- if kindIs "map" .Values.extraArgs }}
{{- range $k, $v := .Values.extraArgs }}
--{{ $k }}={{ $v }}
{{- end }}
{{- else }}
{{- range .Values.extraArgs }}
{{ . }}
{{- end }}
{{- end }}
{{- end }}

{{/* "true" when the pod readiness gate webhook is on: enablePodReadinessGateInject unset
or true; "" when it is false. */}}
{{- define "lbsg.webhookEnabled" -}}
{{- $v := .Values.enablePodReadinessGateInject }}
{{- if not (and (kindIs "bool" $v) (not $v)) }}true{{ end }}
{{- end }}

{{/* The full name with a suffix, the full name shortened so that the whole stays within
63 characters (a Service name, and cert-manager's label values). Call with (list . "suffix"). */}}
{{- define "lbsg.suffixedName" -}}
{{- $root := index . 0 }}
{{- $suffix := index . 1 }}
{{- $base := include "lbsg.fullname" $root | trunc (int (sub 62 (len $suffix))) | trimSuffix "-" }}
{{- printf "%s-%s" $base $suffix }}
{{- end }}

{{- define "lbsg.webhookServiceName" -}}
{{- include "lbsg.suffixedName" (list . "webhook-service") }}
{{- end }}

{{/* The Secret holding the webhook's serving certificate (tls.crt, tls.key, ca.crt). */}}
{{- define "lbsg.webhookSecretName" -}}
{{- include "lbsg.suffixedName" (list . "tls") }}
{{- end }}

{{/* The cert-manager Certificate of the webhook's serving certificate. */}}
{{- define "lbsg.webhookCertificateName" -}}
{{- include "lbsg.suffixedName" (list . "serving-cert") }}
{{- end }}

{{/* The port the webhook server listens on in the container. */}}
{{- define "lbsg.webhookPort" -}}
{{- .Values.webhookBindPort | default 9443 }}
{{- end }}

{{/* The DNS names the API server may use for the webhook Service. */}}
{{- define "lbsg.webhookDNSNames" -}}
{{- $svc := include "lbsg.webhookServiceName" . }}
{{- $ns := .Release.Namespace }}
{{- $domain := (.Values.cluster | default dict).dnsDomain | default "cluster.local" }}
{{- list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.%s" $svc $ns $domain) | toJson }}
{{- end }}

{{/* The webhook's certificates when the chart makes them (not cert-manager), as YAML with
base64 values ca, cert and key: webhookTLS when given; with keepTLSSecret, the Secret of an
earlier install; otherwise a new CA and a serving certificate it signs. Include it once
per render: each call generates new keys. */}}
{{- define "lbsg.webhookCerts" -}}
{{- $given := .Values.webhookTLS | default dict }}
{{- $set := list }}
{{- range $k := list "caCert" "cert" "key" }}
{{- if index $given $k }}{{ $set = append $set $k }}{{ end }}
{{- end }}
{{- if and $set (lt (len $set) 3) }}
{{- fail (printf "webhookTLS: %s given without the others: set webhookTLS.caCert, webhookTLS.cert and webhookTLS.key together (PEM), or none to let the chart make them" (join ", " $set)) }}
{{- end }}
{{- $existing := dict }}
{{- if and (not $set) .Values.keepTLSSecret }}
{{- $existing = (lookup "v1" "Secret" .Release.Namespace (include "lbsg.webhookSecretName" .)).data | default dict }}
{{- end }}
{{- if $set }}
ca: {{ $given.caCert | b64enc }}
cert: {{ $given.cert | b64enc }}
key: {{ $given.key | b64enc }}
{{- else if and (index $existing "ca.crt") (index $existing "tls.crt") (index $existing "tls.key") }}
ca: {{ index $existing "ca.crt" }}
cert: {{ index $existing "tls.crt" }}
key: {{ index $existing "tls.key" }}
{{- else }}
{{- $names := include "lbsg.webhookDNSNames" . | fromJsonArray }}
{{- $ca := genCA (printf "%s-webhook-ca" (include "lbsg.fullname" .)) 3650 }}
{{- $leaf := genSignedCert (index $names 2) nil $names 3650 $ca }}
ca: {{ $ca.Cert | b64enc }}
cert: {{ $leaf.Cert | b64enc }}
key: {{ $leaf.Key | b64enc }}
{{- end }}
{{- end }}
