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

{{/* Common labels; creator other than helm leaves out Helm's, as upstream. */}}
{{- define "lbsg.labels" -}}
{{- if eq (default "helm" .Values.creator) "helm" }}
helm.sh/chart: {{ include "lbsg.chart" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}
{{ include "lbsg.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
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

{{/* The IngressClass of that name already in the cluster (lookup; empty with `helm
template`): a class upstream's release made, which this release adopts. */}}
{{- define "lbsg.existingIngressClass" -}}
{{- toJson (lookup "networking.k8s.io/v1" "IngressClass" "" (toString .Values.ingressClass)) }}
{{- end }}

{{/* The IngressClassParams the class refers to: ingressClassParams.name; else the one the
existing class refers to, so that adopting upstream's class never renames its parameters;
else the class's name, as upstream. */}}
{{- define "lbsg.ingressClassParamsName" -}}
{{- $existing := "" }}
{{- with (include "lbsg.existingIngressClass" . | fromJson).spec }}
{{- with .parameters }}
{{- if eq (toString .kind) "IngressClassParams" }}{{ $existing = .name }}{{ end }}
{{- end }}
{{- end }}
{{- .Values.ingressClassParams.name | default $existing | default .Values.ingressClass }}
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
{{- with .Values.sgRulesNamespaceShare }}
--sg-rules-namespace-share={{ . }}
{{- end }}
{{- with .Values.serviceNodePortRange }}
--service-node-port-range={{ . }}
{{- end }}
{{- if kindIs "bool" .Values.allowClientCIDRRulesOutsideNodePortRange }}
--allow-client-cidr-rules-outside-node-port-range={{ .Values.allowClientCIDRRulesOutsideNodePortRange }}
{{- end }}
{{- with .Values.driftCheckInterval }}
--drift-check-interval={{ . }}
{{- end }}
{{- with .Values.orphanGracePeriod }}
--orphan-grace-period={{ . }}
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

{{/* Values the chart cannot honour, each a line of the message `helm install` fails with:
they would run something other than lbsg, or leave a workload less protected than the
values say. All are reported at once. */}}
{{- define "lbsg.problems" -}}
{{- $problems := list }}
{{- $image := .Values.image | default dict }}
{{- $repo := $image.repository | default "" | toString }}
{{- $tag := $image.tag | default "" | toString }}
{{- if contains "aws-load-balancer-controller" $repo }}
{{- $problems = append $problems (printf "image.repository %q is upstream's controller image; this chart runs lbsg: remove image from your values or set image.repository to where you pushed lbsg's image (make image)" $repo) }}
{{- end }}
{{- if regexMatch "^v[23]\\.[0-9]+" $tag }}
{{- $problems = append $problems (printf "image.tag %q is an AWS Load Balancer Controller version, not an lbsg one (this chart runs lbsg %s): remove image.tag from your values to run the chart's version, or set it to the tag you pushed lbsg's image with" $tag .Chart.AppVersion) }}
{{- end }}
{{- if eq (toString .Values.enableServiceMutatorWebhook) "true" }}
{{- $problems = append $problems "enableServiceMutatorWebhook is true, but lbsg has no Service webhook: new Services of type LoadBalancer would not get spec.loadBalancerClass service.k8s.aws/nlb, and the cloud provider's legacy controller would serve them (an internet-facing Classic Load Balancer by default) instead of lbsg: set enableServiceMutatorWebhook: false, and give new Services spec.loadBalancerClass: service.k8s.aws/nlb or the annotation service.beta.kubernetes.io/aws-load-balancer-type: external (docs/helm.md)" }}
{{- end }}
{{- if $problems }}
{{- fail (printf "\n- %s" (join "\n- " $problems)) }}
{{- end }}
{{- end }}

{{/* Upstream's values lbsg has nothing to act on, when they are set: NOTES.txt prints each
line, so that no setting is accepted without a word. */}}
{{- define "lbsg.notices" -}}
{{- $notices := list }}
{{- $wc := .Values.webhookConfig | default dict }}
{{- if and (not $wc.disableIngressValidation) (or $wc.ingressValdationFailurePolicy ($wc.ingressValidationObjectSelector | default dict).matchLabels ($wc.ingressValidationObjectSelector | default dict).matchExpressions ($wc.ingressValidationNamespaceSelector | default dict).matchLabels ($wc.ingressValidationNamespaceSelector | default dict).matchExpressions) }}
{{- $notices = append $notices "webhookConfig: lbsg has no Ingress validation webhook; it checks each Ingress when it reconciles it and reports bad input as a Warning Event and the annotation lbsg.k8s.aws/ready-condition, changing nothing in AWS for it. Set webhookConfig.disableIngressValidation: true to say so." }}
{{- end }}
{{- if eq (toString (.Values.clusterSecretsPermissions | default dict).allowAllSecrets) "true" }}
{{- $notices = append $notices "clusterSecretsPermissions.allowAllSecrets: lbsg reads no Secret, so its ClusterRole grants none; the value changes nothing." }}
{{- end }}
{{- $smw := .Values.serviceMutatorWebhookConfig | default dict }}
{{- if and (ne (toString .Values.enableServiceMutatorWebhook) "true") (or $smw.failurePolicy ($smw.objectSelector | default dict).matchLabels ($smw.objectSelector | default dict).matchExpressions $smw.namespaceSelectors $smw.operations) }}
{{- $notices = append $notices "serviceMutatorWebhookConfig: lbsg has no Service webhook (enableServiceMutatorWebhook is off), so these settings change nothing." }}
{{- end }}
{{- range $notices }}
WARNING: {{ . }}
{{- end }}
{{- end }}

{{/* Whether the HorizontalPodAutoscaler replaces replicaCount. */}}
{{- define "lbsg.autoscaling" -}}
{{- if eq (toString (.Values.autoscaling | default dict).enabled) "true" }}true{{ end }}
{{- end }}
