{{/* Chart name, overridable. */}}
{{- define "mpe.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Object name: the release name, with the chart name appended unless the release name already
contains it. At most 52 characters so that StatefulSet pod names (<name>-<ordinal>) and their
controller-revision-hash label stay within 63.
*/}}
{{- define "mpe.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "mpe.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "mpe.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mpe.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "mpe.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "mpe.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: mist-pcap-exporter
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "mpe.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "mpe.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "mpe.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding the token: the user's, else the chart's (mist.token) or the one the user creates under the fullname. */}}
{{- define "mpe.secretName" -}}
{{- if and .Values.mist.existingSecret .Values.mist.token -}}
{{- fail "set either mist.existingSecret or mist.token, not both" -}}
{{- end -}}
{{- default (include "mpe.fullname" .) .Values.mist.existingSecret -}}
{{- end -}}

{{- define "mpe.secretKey" -}}
{{- if .Values.mist.existingSecret -}}
{{- required "mist.existingSecretKey must not be empty" .Values.mist.existingSecretKey -}}
{{- else -}}
token
{{- end -}}
{{- end -}}

{{/*
The exporter config: values.config with the keys that must agree with the pod spec set by the
chart (a user value for them would point the exporter at a file or port the pod does not have).
*/}}
{{- define "mpe.config" -}}
{{- $cfg := deepCopy .Values.config -}}
{{- $forced := dict
      "mist" (dict "token_file" (printf "%s/token" (trimSuffix "/" .Values.mist.tokenMountPath)))
      "web" (dict "listen_address" (printf ":%d" (int .Values.service.port))) -}}
{{- if .Values.archive.enabled -}}
{{- $_ := set $forced "archive" (dict "dir" .Values.archive.mountPath) -}}
{{- end -}}
{{- $cfg = mustMergeOverwrite $cfg $forced -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/* The archive volume source outside volumeClaimTemplates. */}}
{{- define "mpe.archiveVolume" -}}
{{- if eq .Values.archive.type "emptyDir" -}}
emptyDir:
  sizeLimit: {{ .Values.archive.sizeLimit }}
{{- else if eq .Values.archive.type "pvc" -}}
persistentVolumeClaim:
  claimName: {{ default (printf "%s-archive" (include "mpe.fullname" .)) .Values.archive.pvc.existingClaim }}
{{- else -}}
{{- fail (printf "archive.type must be emptyDir or pvc, not %q" .Values.archive.type) -}}
{{- end -}}
{{- end -}}

{{- define "mpe.archiveClaimSpec" -}}
accessModes:
  {{- toYaml .Values.archive.pvc.accessModes | nindent 2 }}
{{- with .Values.archive.pvc.storageClassName }}
storageClassName: {{ . }}
{{- end }}
resources:
  requests:
    storage: {{ .Values.archive.pvc.size }}
{{- end -}}

{{/* The pod template shared by the Deployment and the StatefulSet. */}}
{{- define "mpe.podTemplate" -}}
metadata:
  labels:
    {{- include "mpe.selectorLabels" . | nindent 4 }}
    app.kubernetes.io/part-of: mist-pcap-exporter
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    # Rolls the pods when the config (or a chart-made token Secret) changes; a mounted
    # ConfigMap is updated in place, but most keys are read at start only.
    checksum/config: {{ include "mpe.config" . | sha256sum }}
    {{- if .Values.mist.token }}
    checksum/token: {{ .Values.mist.token | sha256sum }}
    {{- end }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "mpe.serviceAccountName" . }}
  # The exporter talks to Mist only, never to the Kubernetes API.
  automountServiceAccountToken: false
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
  containers:
    - name: exporter
      image: {{ include "mpe.image" . }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args:
        - --config.file=/etc/mist-pcap-exporter/config.yaml
        {{- if .Values.sharding.enabled }}
        # No --shard.index: the exporter takes it from the ordinal at the end of $HOSTNAME.
        - --shard.count={{ .Values.sharding.count }}
        {{- end }}
        {{- with .Values.extraArgs }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with .Values.extraEnv }}
      env:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      ports:
        - name: metrics
          containerPort: {{ .Values.service.port }}
          protocol: TCP
      livenessProbe:
        {{- toYaml .Values.livenessProbe | nindent 8 }}
      readinessProbe:
        {{- toYaml .Values.readinessProbe | nindent 8 }}
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      volumeMounts:
        - name: config
          mountPath: /etc/mist-pcap-exporter
          readOnly: true
        - name: token
          mountPath: {{ .Values.mist.tokenMountPath }}
          readOnly: true
        - name: tmp
          mountPath: /tmp
        {{- if .Values.archive.enabled }}
        - name: archive
          mountPath: {{ .Values.archive.mountPath }}
        {{- end }}
  volumes:
    - name: config
      configMap:
        name: {{ include "mpe.fullname" . }}
    - name: token
      secret:
        secretName: {{ include "mpe.secretName" . }}
        items:
          - key: {{ include "mpe.secretKey" . }}
            path: token
        # 0440: owner root, group fsGroup (the exporter), nobody else.
        defaultMode: 288
    - name: tmp
      emptyDir:
        sizeLimit: 64Mi
    {{- if and .Values.archive.enabled (not (and .Values.sharding.enabled (eq .Values.archive.type "pvc"))) }}
    - name: archive
      {{- include "mpe.archiveVolume" . | nindent 6 }}
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- if .Values.affinity }}
  affinity:
    {{- toYaml .Values.affinity | nindent 4 }}
  {{- else if .Values.sharding.enabled }}
  affinity:
    podAntiAffinity:
      preferredDuringSchedulingIgnoredDuringExecution:
        - weight: 100
          podAffinityTerm:
            topologyKey: kubernetes.io/hostname
            labelSelector:
              matchLabels:
                {{- include "mpe.selectorLabels" . | nindent 16 }}
  {{- end }}
  {{- if .Values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml .Values.topologySpreadConstraints | nindent 4 }}
  {{- else if .Values.sharding.enabled }}
  topologySpreadConstraints:
    - maxSkew: 1
      topologyKey: kubernetes.io/hostname
      whenUnsatisfiable: {{ .Values.sharding.whenUnsatisfiable }}
      labelSelector:
        matchLabels:
          {{- include "mpe.selectorLabels" . | nindent 10 }}
  {{- end }}
{{- end -}}
