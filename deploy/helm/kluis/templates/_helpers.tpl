{{/*
The chart's name, at most 63 characters.
*/}}
{{- define "kluis.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The release's full name: the release name when it already contains the
chart's name, else RELEASE-CHART; at most 63 characters.
*/}}
{{- define "kluis.fullname" -}}
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

{{- define "kluis.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "kluis.labels" -}}
helm.sh/chart: {{ include "kluis.chart" . }}
{{ include "kluis.selectorLabels" . }}
app.kubernetes.io/version: {{ include "kluis.imageTag" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "kluis.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kluis.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "kluis.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "kluis.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "kluis.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{/*
Where kluis keeps its files in the container (the image's home of `kluis`).
*/}}
{{- define "kluis.dataDir" -}}
/var/lib/kluis
{{- end }}

{{- define "kluis.postgres" -}}
{{- if eq .Values.database.engine "postgres" }}true{{ end }}
{{- end }}

{{/*
Each secret value comes from the user's own Secret (existingSecret) or, when
given in the values, from the chart's Secret; "" when neither.
These name the Secret each one is read from.
*/}}
{{- define "kluis.masterKeySecret" -}}
{{- if .Values.masterKey.existingSecret }}{{ .Values.masterKey.existingSecret }}
{{- else if .Values.masterKey.value }}{{ include "kluis.fullname" . }}
{{- end }}
{{- end }}

{{- define "kluis.databaseSecret" -}}
{{- if include "kluis.postgres" . }}
{{- if .Values.database.existingSecret }}{{ .Values.database.existingSecret }}
{{- else if .Values.database.url }}{{ include "kluis.fullname" . }}
{{- end }}
{{- end }}
{{- end }}

{{- define "kluis.smtpSecret" -}}
{{- if .Values.mail.existingSecret }}{{ .Values.mail.existingSecret }}
{{- else if .Values.mail.smtpUrl }}{{ include "kluis.fullname" . }}
{{- end }}
{{- end }}

{{- define "kluis.s3Secret" -}}
{{- if .Values.backups.s3.existingSecret }}{{ .Values.backups.s3.existingSecret }}
{{- else if .Values.backups.s3.secretAccessKey }}{{ include "kluis.fullname" . }}
{{- end }}
{{- end }}

{{/*
The data the chart's own Secret holds (YAML, empty when it needs none).
*/}}
{{- define "kluis.secretData" -}}
{{- if and .Values.masterKey.value (not .Values.masterKey.existingSecret) }}
master-key: {{ .Values.masterKey.value | b64enc | quote }}
{{- end }}
{{- if and (include "kluis.postgres" .) .Values.database.url (not .Values.database.existingSecret) }}
database-url: {{ .Values.database.url | b64enc | quote }}
{{- end }}
{{- if and .Values.mail.smtpUrl (not .Values.mail.existingSecret) }}
smtp-url: {{ .Values.mail.smtpUrl | b64enc | quote }}
{{- end }}
{{- if and .Values.backups.s3.secretAccessKey (not .Values.backups.s3.existingSecret) }}
backup-s3-secret-access-key: {{ .Values.backups.s3.secretAccessKey | b64enc | quote }}
{{- end }}
{{- end }}

{{/*
The key of each value in the Secret it is read from: the user's key for an
existingSecret, the chart's fixed key otherwise.
*/}}
{{- define "kluis.secretKey" -}}
{{- $block := index . 0 }}{{ $own := index . 1 }}
{{- if $block.existingSecret }}{{ $block.existingSecretKey }}{{ else }}{{ $own }}{{ end }}
{{- end }}

{{/*
The token issuer: settings.public_url, else the first ingress host.
*/}}
{{- define "kluis.publicUrl" -}}
{{- if .Values.settings.public_url }}
{{- .Values.settings.public_url }}
{{- else if and .Values.ingress.enabled .Values.ingress.hosts }}
{{- $host := (first .Values.ingress.hosts).host }}
{{- printf "%s://%s" (ternary "https" "http" (gt (len .Values.ingress.tls) 0)) $host }}
{{- end }}
{{- end }}

{{/*
Whether the data directory is a ReadWriteOnce volume (one node at a time).
*/}}
{{- define "kluis.rwoVolume" -}}
{{- if and .Values.persistence.enabled (not (has "ReadWriteMany" .Values.persistence.accessModes)) }}true{{ end }}
{{- end }}

{{/*
Refuse a configuration that cannot work, with a message that says why.
*/}}
{{- define "kluis.validate" -}}
{{- $engine := .Values.database.engine }}
{{- if not (has $engine (list "sqlite" "postgres")) }}
{{- fail (printf "database.engine must be \"sqlite\" or \"postgres\", not %q" $engine) }}
{{- end }}
{{- if and (eq $engine "sqlite") (gt (int .Values.replicaCount) 1) }}
{{- fail (printf "database.engine \"sqlite\" runs at most one replica (replicaCount is %v): SQLite is one file written by one process. Use database.engine \"postgres\" for more." .Values.replicaCount) }}
{{- end }}
{{- if eq $engine "postgres" }}
{{- if not (include "kluis.databaseSecret" .) }}
{{- fail "database.engine \"postgres\" needs database.existingSecret (a Secret holding the URL under database.existingSecretKey) or database.url" }}
{{- end }}
{{- if and .Values.database.url (not .Values.database.existingSecret) (not (regexMatch "^postgres(ql)?://" .Values.database.url)) }}
{{- fail "database.url must start with postgres:// or postgresql://" }}
{{- end }}
{{- if not (include "kluis.masterKeySecret" .) }}
{{- fail "database.engine \"postgres\" needs a master key shared by every replica: set masterKey.existingSecret or masterKey.value (openssl rand -base64 32)" }}
{{- end }}
{{- end }}
{{- if and .Values.masterKey.value (not .Values.masterKey.existingSecret) }}
{{- if ne (len (b64dec .Values.masterKey.value)) 32 }}
{{- fail "masterKey.value must be base64 of 32 bytes, e.g. the output of: openssl rand -base64 32" }}
{{- end }}
{{- end }}
{{- if and (gt (int .Values.replicaCount) 1) (include "kluis.rwoVolume" .) (not .Values.persistence.existingClaim) }}
{{- fail "replicaCount above 1 shares the data directory between pods: set persistence.accessModes to [ReadWriteMany], or persistence.enabled false (an emptyDir per pod; set settings.backup_url then)" }}
{{- end }}
{{- end }}
