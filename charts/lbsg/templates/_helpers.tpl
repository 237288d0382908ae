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
{{- /* Upstream flags lbsg accepts and ignores (it logs them at start). */}}
{{- range $flag, $key := dict "enable-pod-readiness-gate-inject" "enablePodReadinessGateInject" "enable-shield" "enableShield" "enable-waf" "enableWaf" "enable-wafv2" "enableWafv2" "enable-endpoint-slices" "enableEndpointSlices" "disable-ingress-class-annotation" "disableIngressClassAnnotation" "disable-ingress-group-name-annotation" "disableIngressGroupNameAnnotation" "tolerate-non-existent-backend-service" "tolerateNonExistentBackendService" "tolerate-non-existent-backend-action" "tolerateNonExistentBackendAction" }}
{{- $v := index $.Values $key }}
{{- if kindIs "bool" $v }}
--{{ $flag }}={{ $v }}
{{- end }}
{{- end }}
{{- range $flag, $key := dict "webhook-bind-port" "webhookBindPort" "default-ssl-policy" "defaultSSLPolicy" "targetgroupbinding-max-concurrent-reconciles" "targetgroupbindingMaxConcurrentReconciles" "targetgroupbinding-max-exponential-backoff-delay" "targetgroupbindingMaxExponentialBackoffDelay" "targetgroupbinding-requeue-duration" "targetgroupbindingRequeueDuration" "alb-gateway-max-concurrent-reconciles" "albGatewayMaxConcurrentReconciles" "nlb-gateway-max-concurrent-reconciles" "nlbGatewayMaxConcurrentReconciles" "globalaccelerator-max-concurrent-reconciles" "globalAcceleratorMaxConcurrentReconciles" "globalaccelerator-max-exponential-backoff-delay" "globalAcceleratorMaxExponentialBackoffDelay" "lb-stabilization-monitor-interval" "lbStabilizationMonitorInterval" "max-targets-per-target-group" "maxTargetsPerTargetGroup" }}
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
