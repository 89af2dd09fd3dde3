{{- define "ucloud-operator.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ucloud-operator.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "ucloud-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "ucloud-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "ucloud-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ucloud-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ucloud-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "ucloud-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "ucloud-operator.jobsNamespace" -}}
{{- default .Release.Namespace .Values.jobsNamespace -}}
{{- end -}}

{{- /* jobs.rootApps, with the deprecated jobs.allowRunAsRoot read as it always was. */ -}}
{{- define "ucloud-operator.rootApps" -}}
{{- if and .Values.jobs.allowRunAsRoot (eq .Values.jobs.rootApps "non-root") -}}root-no-capabilities
{{- else -}}{{ .Values.jobs.rootApps }}{{- end -}}
{{- end -}}

{{- /* jobs.gang.kueue of the operator's configuration: the LocalQueue mapping (projectQueueName only when set). */ -}}
{{- define "ucloud-operator.kueueQueues" -}}
{{- $q := dict "queueName" .Values.jobs.kueueQueueName -}}
{{- if .Values.jobs.kueueProjectQueueName -}}{{- $_ := set $q "projectQueueName" .Values.jobs.kueueProjectQueueName -}}{{- end -}}
{{- toJson $q -}}
{{- end -}}

{{- /* The Pod Security Admission level the job pods of the root profile pass (src/controller/desired/root-profile.ts). */ -}}
{{- define "ucloud-operator.podSecurityLevel" -}}
{{- if eq (include "ucloud-operator.rootApps" .) "non-root" -}}restricted{{- else -}}baseline{{- end -}}
{{- end -}}

{{- define "ucloud-operator.image" -}}
{{- if contains "@" .Values.image.repository -}}
{{- .Values.image.repository -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- /* Memory limit in MiB (for Node's heap size); understands Mi and Gi, defaults to 512. */ -}}
{{- define "ucloud-operator.memoryMiB" -}}
{{- $m := toString (default "512Mi" (dig "limits" "memory" "" .Values.resources)) -}}
{{- if hasSuffix "Gi" $m -}}{{- mul (trimSuffix "Gi" $m | int) 1024 -}}
{{- else if hasSuffix "Mi" $m -}}{{- trimSuffix "Mi" $m | int -}}
{{- else -}}512{{- end -}}
{{- end -}}
