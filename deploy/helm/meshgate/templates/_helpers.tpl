{{/* Chart name, truncated to the 63 characters a DNS label allows. */}}
{{- define "meshgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: release-chart unless the release name already contains the chart name. */}}
{{- define "meshgate.fullname" -}}
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

{{- define "meshgate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "meshgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "meshgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "meshgate.labels" -}}
helm.sh/chart: {{ include "meshgate.chart" . }}
{{ include "meshgate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: worker
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "meshgate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "meshgate.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "meshgate.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
Name of the ConfigMap holding the contracts (chart-rendered or existing; meshgate-contracts
when existingConfigMap is empty).
*/}}
{{- define "meshgate.contractsConfigMap" -}}
{{- if .Values.contracts.files }}
{{- printf "%s-contracts" (include "meshgate.fullname" .) }}
{{- else }}
{{- .Values.contracts.existingConfigMap | default "meshgate-contracts" }}
{{- end }}
{{- end }}

{{/*
Refuses contracts.s3Uri together with a mounted source: the worker reads one source only, so
a ConfigMap, files or git-sync set beside it would be silently unused. Names every conflict.
*/}}
{{- define "meshgate.checkContractsSource" -}}
{{- $c := .Values.contracts }}
{{- if $c.s3Uri }}
{{- $set := list }}
{{- if $c.existingConfigMap }}{{ $set = append $set "existingConfigMap" }}{{ end }}
{{- if $c.items }}{{ $set = append $set "items" }}{{ end }}
{{- if $c.files }}{{ $set = append $set "files" }}{{ end }}
{{- if $c.gitSync.enabled }}{{ $set = append $set "gitSync.enabled" }}{{ end }}
{{- if $set }}
{{- $names := printf "contracts.%s" (join " and contracts." $set) }}
{{- fail (printf "contracts.s3Uri is set, and so is %s: the worker reads its contracts from one source only (with s3Uri no ConfigMap or git checkout is mounted). Unset %s, or contracts.s3Uri" $names $names) }}
{{- end }}
{{- end }}
{{- end }}

{{/* ConfigMap key for a contract file path: "/" is not allowed in keys, so it becomes "__". */}}
{{- define "meshgate.contractKey" -}}
{{- . | replace "/" "__" }}
{{- end }}

{{/* Where the worker reads contracts from: the S3 URI or the mounted directory. */}}
{{- define "meshgate.contractsDir" -}}
{{- if .Values.contracts.s3Uri }}
{{- .Values.contracts.s3Uri }}
{{- else if .Values.contracts.gitSync.enabled }}
{{- printf "%s/%s/%s" .Values.contracts.mountPath .Values.contracts.gitSync.link .Values.contracts.gitSync.path | clean }}
{{- else }}
{{- .Values.contracts.mountPath }}
{{- end }}
{{- end }}

{{/*
Duration string (Go syntax: 25s, 1m30s, 500ms) to whole seconds, rounded up. Used to check
shutdownGrace against terminationGracePeriodSeconds.
*/}}
{{- define "meshgate.durationSeconds" -}}
{{- $s := toString . }}
{{- $total := 0.0 }}
{{- range $m := regexFindAll "[0-9.]+(ms|h|m|s)" $s -1 }}
{{- $n := float64 (regexFind "^[0-9.]+" $m) }}
{{- $u := regexReplaceAll "^[0-9.]+" $m "" }}
{{- if eq $u "h" }}{{ $total = addf $total (mulf $n 3600) }}
{{- else if eq $u "m" }}{{ $total = addf $total (mulf $n 60) }}
{{- else if eq $u "s" }}{{ $total = addf $total $n }}
{{- else if eq $u "ms" }}{{ $total = addf $total (divf $n 1000) }}
{{- end }}
{{- end }}
{{- if not (regexMatch "^([0-9.]+(ms|h|m|s))+$" $s) }}
{{- fail (printf "config.shutdownGrace %q is not a duration like 25s" $s) }}
{{- end }}
{{- ceil $total }}
{{- end }}

{{/*
The git-sync container (v4 flags). dict "ctx" $ "oneTime" bool: the init copy clones once and
exits; the sidecar keeps the checkout current and swaps the <link> symlink atomically.
*/}}
{{- define "meshgate.gitSyncContainer" -}}
{{- $v := .ctx.Values.contracts.gitSync -}}
image: {{ $v.image }}
args:
  - --repo={{ required "contracts.gitSync.repo is required when gitSync is enabled" $v.repo }}
  - --ref={{ $v.ref }}
  - --root={{ .ctx.Values.contracts.mountPath }}
  - --link={{ $v.link }}
  - --period={{ $v.period }}
  {{- if .oneTime }}
  - --one-time
  {{- end }}
env:
  # git writes its config under $HOME; the root file system is read-only.
  - name: HOME
    value: /tmp
resources:
  {{- toYaml $v.resources | nindent 2 }}
securityContext:
  {{- toYaml .ctx.Values.securityContext | nindent 2 }}
volumeMounts:
  - name: contracts
    mountPath: {{ .ctx.Values.contracts.mountPath }}
  - name: tmp
    mountPath: /tmp
  {{- if $v.secretName }}
  - name: git-secret
    mountPath: /etc/git-secret
    readOnly: true
  {{- end }}
{{- end }}
