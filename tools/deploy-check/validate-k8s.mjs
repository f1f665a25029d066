// Validates rendered Kubernetes manifests (kubectl kustomize or helm template output,
// multi-document YAML).
//
//   node tools/deploy-check/validate-k8s.mjs [--rules-out=FILE] [--expect=base|sharded|example-secret] FILE...
//   node tools/deploy-check/validate-k8s.mjs --expect=helm|helm-sharded [expectations, see checkHelm] FILE...
//
// 1. Schema: every object against the Kubernetes OpenAPI schema bundled in kubernetes-models;
//    monitoring.coreos.com/v1 objects against @kubernetes-models/prometheus-operator.
// 2. Structure of ServiceMonitor and PrometheusRule, field by field (the schemas accept unknown
//    fields, so misspelt ones would slip through): endpoints[].port/path/interval,
//    groups[].name/rules[], every rule exactly one of alert|record, expr, and only
//    for/labels/annotations/keep_firing_for besides.
// 3. The project's deployment policy (--expect): one Deployment or a 3-replica StatefulSet with
//    --shard.count equal to replicas and a headless governing Service, restricted
//    securityContext, probes, resources, token from the Secret mist-pcap-exporter-token (created
//    by the user: no Secret and no Namespace in base/sharded; example-secret renders exactly one
//    generated Secret), port 10052 named metrics, NetworkPolicy egress 443 + DNS and ingress
//    10052. Every kind at its current apiVersion (API_VERSIONS).
// 4. The Helm chart's policy (--expect=helm|helm-sharded): the same pod rules, the token as a
//    file from the expected Secret, and the exact expectations the caller passes (checkHelm).
// --rules-out writes the PrometheusRule's groups as a rules file for `promtool check rules`.
// Exit status 1 on any problem.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseAllDocuments, stringify } from 'yaml';

const args = process.argv.slice(2);
const files = args.filter((a) => !a.startsWith('--'));
const opt = (name) => args.find((a) => a.startsWith(`--${name}=`))?.split('=').slice(1).join('=');
const rulesOut = opt('rules-out');
const expect = opt('expect');

let failed = 0;
const fail = (msg) => { failed++; console.error(`FAIL ${msg}`); };
const objects = [];
const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

async function modelFor(apiVersion, kind) {
  const candidates = apiVersion.startsWith('monitoring.coreos.com/')
    ? [`@kubernetes-models/prometheus-operator/${apiVersion}/${kind}`]
    : [`kubernetes-models/${apiVersion}/${kind}`, `kubernetes-models/${apiVersion}`];
  for (const path of candidates) {
    try {
      const mod = await import(path);
      if (mod[kind]) return mod[kind];
    } catch { /* try the next form */ }
  }
  return null;
}

for (const file of files) {
  for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
    if (doc.errors.length) { fail(`${file}: YAML error ${doc.errors[0].message}`); continue; }
    const obj = doc.toJS();
    if (!obj) continue;
    if (isObj(obj) && Object.keys(obj).length === 0) {
      // kustomize v2.0.3 (kubectl <= 1.20) leaves `{}` where a `$patch: delete` removed an object.
      console.log(`skip ${file}: empty document (left by a kustomize v2 $patch: delete)`);
      continue;
    }
    const id = `${file}: ${obj.kind}/${obj.metadata?.name}`;
    if (!obj.apiVersion || !obj.kind || !obj.metadata?.name) { fail(`${id}: needs apiVersion, kind, metadata.name`); continue; }
    const Model = await modelFor(obj.apiVersion, obj.kind);
    if (!Model) { fail(`${id}: no schema for ${obj.apiVersion} ${obj.kind}`); continue; }
    try {
      new Model(obj).validate();
      console.log(`ok   ${id} (${obj.apiVersion})`);
    } catch (e) {
      fail(`${id}: ${e.message}`);
    }
    objects.push(obj);
  }
}

// The only kinds the manifests and the chart may render, each at its current (GA, not deprecated)
// apiVersion: a policy/v1beta1 PDB or networking.k8s.io/v1beta1 object would fail here even where
// the bundled schemas still know it.
const API_VERSIONS = {
  ServiceAccount: 'v1', ConfigMap: 'v1', Secret: 'v1', Service: 'v1', PersistentVolumeClaim: 'v1',
  Deployment: 'apps/v1', StatefulSet: 'apps/v1', NetworkPolicy: 'networking.k8s.io/v1',
  PodDisruptionBudget: 'policy/v1', ServiceMonitor: 'monitoring.coreos.com/v1',
  PrometheusRule: 'monitoring.coreos.com/v1',
};
for (const o of objects) {
  const want = API_VERSIONS[o.kind];
  if (!want) fail(`${o.kind}/${o.metadata.name}: unexpected kind`);
  else if (o.apiVersion !== want) fail(`${o.kind}/${o.metadata.name}: apiVersion ${o.apiVersion}, want ${want}`);
}

const DURATION = /^(\d+(ms|s|m|h|d|w|y))+$/;

function checkKeys(where, obj, allowed) {
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) fail(`${where}: unknown field ${k}`);
}

function checkServiceMonitor(sm) {
  const where = `ServiceMonitor/${sm.metadata.name}`;
  const spec = sm.spec;
  if (!isObj(spec)) return fail(`${where}: missing spec`);
  if (!isObj(spec.selector) || !(isObj(spec.selector.matchLabels) || Array.isArray(spec.selector.matchExpressions))) {
    fail(`${where}: spec.selector needs matchLabels or matchExpressions`);
  }
  if (!Array.isArray(spec.endpoints) || spec.endpoints.length === 0) return fail(`${where}: spec.endpoints must be a non-empty list`);
  spec.endpoints.forEach((ep, i) => {
    const w = `${where} endpoints[${i}]`;
    if (typeof ep.port !== 'string' || !ep.port) fail(`${w}: port must be a Service port name`);
    if (typeof ep.path !== 'string' || !ep.path.startsWith('/')) fail(`${w}: path must start with /`);
    if (!DURATION.test(ep.interval ?? '')) fail(`${w}: interval must be a duration like 30s`);
    if (ep.scrapeTimeout !== undefined && !DURATION.test(ep.scrapeTimeout)) fail(`${w}: bad scrapeTimeout`);
  });
  // The selector must find a Service exposing that port name.
  const svc = objects.filter((o) => o.kind === 'Service' && o.metadata.namespace === sm.metadata.namespace
    && Object.entries(spec.selector.matchLabels ?? {}).every(([k, v]) => o.metadata.labels?.[k] === v));
  if (svc.length === 0) fail(`${where}: selector matches no Service`);
  for (const ep of spec.endpoints) {
    if (!svc.some((s) => s.spec.ports?.some((p) => p.name === ep.port))) fail(`${where}: no selected Service has port ${ep.port}`);
  }
}

function checkPrometheusRule(pr) {
  const where = `PrometheusRule/${pr.metadata.name}`;
  const groups = pr.spec?.groups;
  if (!Array.isArray(groups) || groups.length === 0) return fail(`${where}: spec.groups must be a non-empty list`);
  const names = new Set();
  groups.forEach((g, gi) => {
    const gw = `${where} groups[${gi}]`;
    checkKeys(gw, g, ['name', 'interval', 'rules', 'partial_response_strategy', 'limit', 'query_offset', 'labels']);
    if (typeof g.name !== 'string' || !g.name) fail(`${gw}: name required`);
    if (names.has(g.name)) fail(`${gw}: duplicate group name ${g.name}`);
    names.add(g.name);
    if (!Array.isArray(g.rules) || g.rules.length === 0) return fail(`${gw}: rules must be a non-empty list`);
    g.rules.forEach((r, ri) => {
      const rw = `${gw}.rules[${ri}] ${r.alert ?? r.record ?? ''}`;
      checkKeys(rw, r, ['alert', 'record', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations']);
      if (('alert' in r) === ('record' in r)) fail(`${rw}: needs exactly one of alert or record`);
      if (typeof r.expr !== 'string' || !r.expr.trim()) fail(`${rw}: expr must be a non-empty string`);
      if (r.for !== undefined && !DURATION.test(r.for)) fail(`${rw}: for must be a duration`);
      if (r.labels !== undefined && !isObj(r.labels)) fail(`${rw}: labels must be a map`);
      if ('record' in r && (r.for !== undefined || r.annotations !== undefined)) fail(`${rw}: recording rules take no for/annotations`);
      if ('alert' in r) {
        if (!r.labels?.severity) fail(`${rw}: labels.severity required`);
        for (const k of ['summary', 'description', 'runbook_url']) {
          if (typeof r.annotations?.[k] !== 'string' || !r.annotations[k]) fail(`${rw}: annotations.${k} required`);
        }
      }
    });
  });
  if (rulesOut) {
    writeFileSync(rulesOut, stringify({ groups }));
  }
}

function checkPod(where, tmpl) {
  const pod = tmpl?.spec;
  if (!pod) return fail(`${where}: no pod template`);
  const psc = pod.securityContext ?? {};
  if (psc.runAsNonRoot !== true) fail(`${where}: pod runAsNonRoot must be true`);
  if (psc.seccompProfile?.type !== 'RuntimeDefault') fail(`${where}: pod seccompProfile RuntimeDefault required`);
  const c = pod.containers?.[0];
  if (!c) return fail(`${where}: no container`);
  const sc = c.securityContext ?? {};
  if ((sc.runAsUser ?? psc.runAsUser) !== 65532) fail(`${where}: runAsUser must be 65532`);
  if (sc.readOnlyRootFilesystem !== true) fail(`${where}: readOnlyRootFilesystem required`);
  if (sc.allowPrivilegeEscalation !== false) fail(`${where}: allowPrivilegeEscalation must be false`);
  if (!(sc.capabilities?.drop ?? []).includes('ALL')) fail(`${where}: capabilities must drop ALL`);
  if (c.image !== 'mist-pcap-exporter:0.1.0') fail(`${where}: image must be mist-pcap-exporter:0.1.0`);
  if (!(c.args ?? []).includes('--config.file=/etc/mist-pcap-exporter/config.yaml')) fail(`${where}: --config.file arg missing`);
  const tok = (c.env ?? []).find((e) => e.name === 'MIST_API_TOKEN');
  const ref = tok?.valueFrom?.secretKeyRef;
  if (!ref?.name || ref.key !== 'token') fail(`${where}: MIST_API_TOKEN must come from key token of a Secret`);
  else if (expect === 'example-secret') {
    // The overlay's secretGenerator adds a hash suffix; kustomize must have rewritten the reference.
    if (!objects.some((o) => o.kind === 'Secret' && o.metadata.name === ref.name && 'token' in (o.data ?? {}))) {
      fail(`${where}: Secret ${ref.name} with key token not rendered`);
    }
  } else if (ref.name !== 'mist-pcap-exporter-token') {
    fail(`${where}: MIST_API_TOKEN must come from the user-created Secret mist-pcap-exporter-token`);
  }
  if (!(c.ports ?? []).some((p) => p.name === 'metrics' && p.containerPort === 10052)) fail(`${where}: containerPort 10052 named metrics required`);
  if (c.livenessProbe?.httpGet?.path !== '/healthz') fail(`${where}: livenessProbe must GET /healthz`);
  if (c.readinessProbe?.httpGet?.path !== '/readyz') fail(`${where}: readinessProbe must GET /readyz`);
  for (const k of ['requests', 'limits']) {
    if (!c.resources?.[k]?.cpu || !c.resources?.[k]?.memory) fail(`${where}: resources.${k} cpu and memory required`);
  }
  for (const v of pod.volumes ?? []) {
    if (v.configMap && !objects.some((o) => o.kind === 'ConfigMap' && o.metadata.name === v.configMap.name)) {
      fail(`${where}: volume ${v.name} refers to ConfigMap ${v.configMap.name}, which is not rendered`);
    }
  }
  const cm = objects.find((o) => o.kind === 'ConfigMap' && (pod.volumes ?? []).some((v) => v.configMap?.name === o.metadata.name));
  if (cm && !('config.yaml' in (cm.data ?? {}))) fail(`${where}: ConfigMap ${cm.metadata.name} lacks config.yaml`);
  return c;
}

function checkPolicy() {
  const deps = objects.filter((o) => o.kind === 'Deployment');
  const sts = objects.filter((o) => o.kind === 'StatefulSet');
  const svc = objects.find((o) => o.kind === 'Service');
  if (expect === 'base' || expect === 'example-secret') {
    if (deps.length !== 1 || sts.length !== 0) fail('base: expected exactly one Deployment and no StatefulSet');
    if (deps[0]?.spec.replicas !== 1) fail('base: Deployment needs replicas 1');
    if (deps[0]) checkPod(`Deployment/${deps[0].metadata.name}`, deps[0].spec.template);
  } else if (expect === 'sharded') {
    if (deps.length !== 0 || sts.length !== 1) fail('sharded: expected exactly one StatefulSet and no Deployment');
    const s = sts[0];
    if (s) {
      if (s.spec.replicas !== 3) fail('sharded: StatefulSet needs replicas 3');
      const c = checkPod(`StatefulSet/${s.metadata.name}`, s.spec.template);
      if (c && !(c.args ?? []).includes(`--shard.count=${s.spec.replicas}`)) fail('sharded: --shard.count must equal replicas');
      if (c && (c.args ?? []).some((a) => a.startsWith('--shard.index'))) fail('sharded: --shard.index must come from $HOSTNAME, not a fixed arg');
      const gov = objects.find((o) => o.kind === 'Service' && o.metadata.name === s.spec.serviceName);
      if (!gov) fail(`sharded: governing Service ${s.spec.serviceName} not rendered`);
      else if (gov.spec.clusterIP !== 'None') fail('sharded: governing Service must be headless (clusterIP: None)');
    }
  }
  if (!svc?.spec.ports?.some((p) => p.name === 'metrics' && p.port === 10052)) fail('Service needs port 10052 named metrics');
  const np = objects.find((o) => o.kind === 'NetworkPolicy');
  if (!np) fail('NetworkPolicy missing');
  else {
    const egress = (np.spec.egress ?? []).flatMap((r) => r.ports ?? []);
    const has = (proto, port) => egress.some((p) => (p.protocol ?? 'TCP') === proto && p.port === port);
    if (!has('TCP', 443)) fail('NetworkPolicy: egress TCP 443 missing');
    if (!has('UDP', 53) || !has('TCP', 53)) fail('NetworkPolicy: egress DNS 53 UDP and TCP missing');
    const ingress = (np.spec.ingress ?? []).flatMap((r) => r.ports ?? []);
    if (!ingress.some((p) => p.port === 10052 || p.port === 'metrics')) fail('NetworkPolicy: ingress to 10052 missing');
    if (!(np.spec.policyTypes ?? []).includes('Egress')) fail('NetworkPolicy: policyTypes must include Egress');
  }
  for (const kind of ['ServiceMonitor', 'PrometheusRule', 'ConfigMap']) {
    if (!objects.some((o) => o.kind === kind)) fail(`${kind} missing`);
  }
  // The namespace is the user's (or an overlay's) choice, and the token never lives in Git: only
  // the example overlay may render a Secret, and nothing renders a Namespace.
  if (objects.some((o) => o.kind === 'Namespace')) fail(`${expect}: no Namespace object expected`);
  const secrets = objects.filter((o) => o.kind === 'Secret').length;
  if (secrets !== (expect === 'example-secret' ? 1 : 0)) fail(`${expect}: ${secrets} Secret(s) rendered`);
  if (expect === 'example-secret' && objects.some((o) => o.metadata.namespace !== 'mist-pcap-exporter')) {
    fail('example-secret: every object must be in namespace mist-pcap-exporter');
  }
}

// --- The Helm chart (--expect=helm|helm-sharded) -------------------------------------------------
// Exact expectations for one `helm template` output, given by the caller (scripts/check_deploy.sh)
// for the values file it rendered:
//   --kinds=Kind=N,...       every kind rendered and how often (nothing else)
//   --shards=N               helm-sharded: StatefulSet replicas and --shard.count
//   --secret=NAME/KEY        the Secret and key the token file comes from
//   --chart-secret           the chart renders that Secret (mist.token); else no Secret at all
//   --archive=none|emptyDir|pvc
//   --monitoring-labels=k=v,...  labels the ServiceMonitor and PrometheusRule must carry
//   --rules-file=FILE        the PrometheusRule's groups must equal this file's
//   --dashboards-dir=DIR     one ConfigMap per DIR/*.json holding the file byte for byte
//   --dashboard-label=k=v    the Grafana sidecar label on those ConfigMaps
//   --image=IMAGE            the container image
//   --namespace=NS           every object's metadata.namespace
//   --config-out=FILE        writes the exporter config (ConfigMap config.yaml) for --check-config
const matches = (selector, labels) => isObj(selector) && Object.keys(selector).length > 0
  && Object.entries(selector).every(([k, v]) => labels?.[k] === v);
const kv = (text) => Object.fromEntries((text ?? '').split(',').filter(Boolean).map((p) => {
  const i = p.indexOf('=');
  return [p.slice(0, i), p.slice(i + 1)];
}));

function checkHelm() {
  const sharded = expect === 'helm-sharded';
  const where = expect;
  const byKind = (k) => objects.filter((o) => o.kind === k);
  // Kinds and counts, exactly.
  const wantKinds = Object.fromEntries(Object.entries(kv(opt('kinds'))).map(([k, n]) => [k, Number(n)]));
  const haveKinds = {};
  for (const o of objects) haveKinds[o.kind] = (haveKinds[o.kind] ?? 0) + 1;
  for (const k of new Set([...Object.keys(wantKinds), ...Object.keys(haveKinds)])) {
    if ((wantKinds[k] ?? 0) !== (haveKinds[k] ?? 0)) fail(`${where}: ${haveKinds[k] ?? 0} ${k}, want ${wantKinds[k] ?? 0}`);
  }
  const ns = opt('namespace');
  for (const o of objects) {
    const id = `${o.kind}/${o.metadata.name}`;
    if (ns && o.metadata.namespace !== ns) fail(`${where}: ${id} namespace ${o.metadata.namespace}, want ${ns}`);
    const l = o.metadata.labels ?? {};
    if (l['app.kubernetes.io/managed-by'] !== 'Helm' || !l['helm.sh/chart'] || !l['app.kubernetes.io/instance']) {
      fail(`${where}: ${id} lacks the chart's standard labels`);
    }
  }

  // The workload.
  const deps = byKind('Deployment');
  const sts = byKind('StatefulSet');
  const w = sharded ? sts[0] : deps[0];
  if (!w || deps.length + sts.length !== 1) return fail(`${where}: want exactly one ${sharded ? 'StatefulSet' : 'Deployment'}`);
  const wid = `${w.kind}/${w.metadata.name}`;
  const podLabels = w.spec.template?.metadata?.labels ?? {};
  if (!matches(w.spec.selector?.matchLabels, podLabels)) fail(`${wid}: selector does not match the pod labels`);
  const shards = Number(opt('shards') ?? 1);
  if (sharded) {
    if (w.spec.replicas !== shards) fail(`${wid}: replicas ${w.spec.replicas}, want ${shards}`);
    const gov = objects.find((o) => o.kind === 'Service' && o.metadata.name === w.spec.serviceName);
    if (!gov) fail(`${wid}: governing Service ${w.spec.serviceName} not rendered`);
    else {
      if (gov.spec.clusterIP !== 'None') fail(`${wid}: governing Service must be headless`);
      if (!matches(gov.spec.selector, podLabels)) fail(`${wid}: governing Service does not select the pods`);
    }
    const pod = w.spec.template.spec;
    const spread = pod.topologySpreadConstraints ?? [];
    if (!spread.some((t) => t.topologyKey === 'kubernetes.io/hostname' && t.maxSkew === 1 && matches(t.labelSelector?.matchLabels, podLabels))) {
      fail(`${wid}: needs a topologySpreadConstraint over kubernetes.io/hostname selecting its pods`);
    }
    const anti = pod.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
    if (!anti.some((t) => t.podAffinityTerm?.topologyKey === 'kubernetes.io/hostname' && matches(t.podAffinityTerm?.labelSelector?.matchLabels, podLabels))) {
      fail(`${wid}: needs a preferred podAntiAffinity over kubernetes.io/hostname`);
    }
  } else {
    if (w.spec.replicas !== 1) fail(`${wid}: replicas must be 1`);
    if (w.spec.strategy?.type !== 'Recreate') fail(`${wid}: strategy must be Recreate (never two replicas at once)`);
  }

  // The pod.
  const pod = w.spec.template?.spec ?? {};
  const psc = pod.securityContext ?? {};
  if (psc.runAsNonRoot !== true) fail(`${wid}: pod runAsNonRoot must be true`);
  if (psc.seccompProfile?.type !== 'RuntimeDefault') fail(`${wid}: pod seccompProfile RuntimeDefault required`);
  if (pod.automountServiceAccountToken !== false) fail(`${wid}: automountServiceAccountToken must be false`);
  if (!objects.some((o) => o.kind === 'ServiceAccount' && o.metadata.name === pod.serviceAccountName)) {
    fail(`${wid}: ServiceAccount ${pod.serviceAccountName} not rendered`);
  }
  if ((pod.containers ?? []).length !== 1) return fail(`${wid}: want exactly one container`);
  const c = pod.containers[0];
  const sc = c.securityContext ?? {};
  if ((sc.runAsUser ?? psc.runAsUser) !== 65532) fail(`${wid}: runAsUser must be 65532`);
  if (sc.runAsNonRoot === false) fail(`${wid}: container runAsNonRoot must not be false`);
  if (sc.readOnlyRootFilesystem !== true) fail(`${wid}: readOnlyRootFilesystem required`);
  if (sc.allowPrivilegeEscalation !== false) fail(`${wid}: allowPrivilegeEscalation must be false`);
  if (sc.privileged === true) fail(`${wid}: must not be privileged`);
  if (JSON.stringify(sc.capabilities?.drop) !== '["ALL"]' || sc.capabilities?.add) fail(`${wid}: capabilities must drop ALL and add none`);
  if ((sc.seccompProfile ?? psc.seccompProfile)?.type !== 'RuntimeDefault') fail(`${wid}: seccomp RuntimeDefault required`);
  const image = opt('image');
  if (image && c.image !== image) fail(`${wid}: image ${c.image}, want ${image}`);
  const args = c.args ?? [];
  if (!args.includes('--config.file=/etc/mist-pcap-exporter/config.yaml')) fail(`${wid}: --config.file arg missing`);
  if (args.some((a) => a.startsWith('--shard.index'))) fail(`${wid}: --shard.index must come from $HOSTNAME, not an arg`);
  const countArgs = args.filter((a) => a.startsWith('--shard.count'));
  if (sharded && (countArgs.length !== 1 || countArgs[0] !== `--shard.count=${shards}`)) fail(`${wid}: args need --shard.count=${shards} once`);
  if (!sharded && countArgs.length) fail(`${wid}: --shard.count only in the sharded mode`);
  if (!(c.ports ?? []).some((p) => p.name === 'metrics' && p.containerPort === 10052 && (p.protocol ?? 'TCP') === 'TCP')) {
    fail(`${wid}: containerPort 10052 named metrics required`);
  }
  if (c.livenessProbe?.httpGet?.path !== '/healthz' || c.livenessProbe?.httpGet?.port !== 'metrics') fail(`${wid}: livenessProbe must GET /healthz on metrics`);
  if (c.readinessProbe?.httpGet?.path !== '/readyz' || c.readinessProbe?.httpGet?.port !== 'metrics') fail(`${wid}: readinessProbe must GET /readyz on metrics`);
  for (const k of ['requests', 'limits']) {
    if (!c.resources?.[k]?.cpu || !c.resources?.[k]?.memory) fail(`${wid}: resources.${k} cpu and memory required`);
  }
  const volumes = Object.fromEntries((pod.volumes ?? []).map((v) => [v.name, v]));
  const mounts = Object.fromEntries((c.volumeMounts ?? []).map((m) => [m.name, m]));
  for (const name of Object.keys(mounts)) {
    const claimed = sharded && (w.spec.volumeClaimTemplates ?? []).some((t) => t.metadata?.name === name);
    if (!volumes[name] && !claimed) fail(`${wid}: volumeMount ${name} has no volume`);
  }
  if (mounts.tmp?.mountPath !== '/tmp' || !volumes.tmp?.emptyDir) fail(`${wid}: /tmp must be an emptyDir (read-only root)`);

  // The config, and the keys the chart must keep in line with the pod.
  let cfg = {};
  const cmName = volumes.config?.configMap?.name;
  const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === cmName);
  if (mounts.config?.mountPath !== '/etc/mist-pcap-exporter' || !cm) fail(`${wid}: config ConfigMap not mounted at /etc/mist-pcap-exporter`);
  else if (typeof cm.data?.['config.yaml'] !== 'string') fail(`ConfigMap/${cmName}: config.yaml missing`);
  else {
    const docs = parseAllDocuments(cm.data['config.yaml']);
    if (docs.length !== 1 || docs[0].errors.length || !isObj(docs[0].toJS())) fail(`ConfigMap/${cmName}: config.yaml is not one YAML mapping`);
    else cfg = docs[0].toJS();
    if (opt('config-out')) writeFileSync(opt('config-out'), cm.data['config.yaml']);
  }
  if (cfg.web?.listen_address !== ':10052') fail(`${wid}: config web.listen_address ${cfg.web?.listen_address}, want :10052`);
  if (checksumMissing(w)) fail(`${wid}: pod template needs the checksum/config annotation (config changes must roll the pods)`);

  // The token: a file from the Secret, never an environment variable.
  const [secretName, secretKey] = (opt('secret') ?? '/').split('/');
  if (JSON.stringify(c.env ?? []).includes('secretKeyRef') || (c.env ?? []).some((e) => e.name === 'MIST_API_TOKEN')) {
    fail(`${wid}: the token must not be passed in the environment`);
  }
  const tv = volumes.token?.secret;
  if (!tv) fail(`${wid}: token Secret volume missing`);
  else {
    if (tv.secretName !== secretName) fail(`${wid}: token volume from Secret ${tv.secretName}, want ${secretName}`);
    if (JSON.stringify(tv.items) !== JSON.stringify([{ key: secretKey, path: 'token' }])) fail(`${wid}: token volume must map key ${secretKey} to the file token`);
    if (tv.defaultMode !== 0o440) fail(`${wid}: token file mode must be 0440 (288)`);
    if (!mounts.token?.readOnly) fail(`${wid}: token must be mounted readOnly`);
    else if (cfg.mist?.token_file !== `${mounts.token.mountPath}/token`) {
      fail(`${wid}: config mist.token_file ${cfg.mist?.token_file}, want ${mounts.token.mountPath}/token`);
    }
  }
  const secrets = byKind('Secret');
  if (process.argv.includes('--chart-secret')) {
    const s = secrets.find((o) => o.metadata.name === secretName);
    if (secrets.length !== 1 || !s) fail(`${where}: the chart must render exactly the Secret ${secretName}`);
    else if (!s.data?.token || !Buffer.from(s.data.token, 'base64').toString().trim()) fail(`Secret/${secretName}: empty token`);
  } else if (secrets.length) {
    fail(`${where}: no Secret may be rendered when the token Secret is the user's (${secrets.map((o) => o.metadata.name)})`);
  }

  // The archive.
  const archive = opt('archive') ?? 'none';
  const am = mounts.archive;
  if (archive === 'none') {
    if (am || volumes.archive || cfg.archive?.dir) fail(`${wid}: archive must be off`);
  } else {
    if (!am || cfg.archive?.dir !== am.mountPath) fail(`${wid}: config archive.dir must be the archive mount (${am?.mountPath})`);
    if (archive === 'emptyDir' && !volumes.archive?.emptyDir?.sizeLimit) fail(`${wid}: archive must be an emptyDir with a sizeLimit`);
    if (archive === 'pvc') {
      if (sharded) {
        const t = (w.spec.volumeClaimTemplates ?? []).find((v) => v.metadata?.name === 'archive');
        if (!t?.spec?.resources?.requests?.storage || volumes.archive) fail(`${wid}: archive must be a volumeClaimTemplate (one per shard)`);
      } else {
        const claim = volumes.archive?.persistentVolumeClaim?.claimName;
        if (!objects.some((o) => o.kind === 'PersistentVolumeClaim' && o.metadata.name === claim)) fail(`${wid}: archive claim ${claim} not rendered`);
      }
    }
  }

  // Service, ServiceMonitor (one Service, job label mist-pcap-exporter), PDB, NetworkPolicy.
  const scraped = byKind('Service').filter((s) => s.spec.clusterIP !== 'None');
  if (scraped.length !== 1) fail(`${where}: want exactly one non-headless Service`);
  for (const svc of byKind('Service')) {
    if (!matches(svc.spec.selector, podLabels)) fail(`Service/${svc.metadata.name}: selector does not match the pods`);
    if (!svc.spec.ports?.some((p) => p.name === 'metrics' && p.port === 10052 && p.targetPort === 'metrics')) fail(`Service/${svc.metadata.name}: port 10052 named metrics required`);
  }
  const monLabels = kv(opt('monitoring-labels'));
  for (const sm of byKind('ServiceMonitor')) {
    const sel = byKind('Service').filter((s) => matches(sm.spec.selector?.matchLabels, s.metadata.labels));
    if (sel.length !== 1 || sel[0] !== scraped[0]) fail(`ServiceMonitor/${sm.metadata.name}: must select exactly the non-headless Service (each pod scraped once)`);
    const job = sm.spec.jobLabel ? sel[0]?.metadata.labels?.[sm.spec.jobLabel] : sel[0]?.metadata.name;
    if (job !== 'mist-pcap-exporter') fail(`ServiceMonitor/${sm.metadata.name}: job label would be ${job}; the alert rules expect mist-pcap-exporter`);
  }
  for (const o of [...byKind('ServiceMonitor'), ...byKind('PrometheusRule')]) {
    for (const [k, v] of Object.entries(monLabels)) {
      if (o.metadata.labels?.[k] !== v) fail(`${o.kind}/${o.metadata.name}: label ${k}=${v} missing`);
    }
  }
  for (const pdb of byKind('PodDisruptionBudget')) {
    if (!matches(pdb.spec.selector?.matchLabels, podLabels)) fail(`PodDisruptionBudget/${pdb.metadata.name}: selector does not match the pods`);
    if ((pdb.spec.maxUnavailable === undefined) === (pdb.spec.minAvailable === undefined)) fail(`PodDisruptionBudget/${pdb.metadata.name}: exactly one of maxUnavailable, minAvailable`);
  }
  for (const np of byKind('NetworkPolicy')) {
    const n = `NetworkPolicy/${np.metadata.name}`;
    if (!matches(np.spec.podSelector?.matchLabels, podLabels)) fail(`${n}: podSelector does not match the pods`);
    if (!['Ingress', 'Egress'].every((t) => (np.spec.policyTypes ?? []).includes(t))) fail(`${n}: policyTypes Ingress and Egress`);
    const ingress = np.spec.ingress ?? [];
    if (ingress.length !== 1 || !(ingress[0].ports ?? []).every((p) => p.port === 'metrics' || p.port === 10052)
        || !(ingress[0].ports ?? []).length) fail(`${n}: ingress only to the metrics port`);
    const egress = (np.spec.egress ?? []).flatMap((r) => r.ports ?? []);
    const has = (proto, port) => egress.some((p) => (p.protocol ?? 'TCP') === proto && p.port === port);
    if (!has('TCP', 443)) fail(`${n}: egress TCP 443 missing`);
    if (!has('UDP', 53) || !has('TCP', 53)) fail(`${n}: egress DNS 53 UDP and TCP missing`);
  }

  // Embedded files: the rules and the dashboards, unchanged.
  const rulesFile = opt('rules-file');
  for (const pr of byKind('PrometheusRule')) {
    const want = rulesFile ? parseAllDocuments(readFileSync(rulesFile, 'utf8'))[0].toJS().groups : null;
    if (want && canonical(pr.spec.groups) !== canonical(want)) fail(`PrometheusRule/${pr.metadata.name}: groups differ from ${rulesFile}`);
  }
  const dashDir = opt('dashboards-dir');
  const dashCms = byKind('ConfigMap').filter((o) => o !== cm);
  if (dashDir) {
    const [lk, lv] = Object.entries(kv(opt('dashboard-label')))[0] ?? [];
    const files = readdirSync(dashDir).filter((f) => f.endsWith('.json')).sort();
    const seen = [];
    for (const d of dashCms) {
      const keys = Object.keys(d.data ?? {});
      if (keys.length !== 1 || !files.includes(keys[0])) { fail(`ConfigMap/${d.metadata.name}: want one key named after a dashboard file`); continue; }
      seen.push(keys[0]);
      if (d.data[keys[0]] !== readFileSync(`${dashDir}/${keys[0]}`, 'utf8')) fail(`ConfigMap/${d.metadata.name}: ${keys[0]} differs from ${dashDir}/${keys[0]}`);
      if (lk && d.metadata.labels?.[lk] !== lv) fail(`ConfigMap/${d.metadata.name}: label ${lk}=${lv} missing`);
    }
    if (JSON.stringify(seen.sort()) !== JSON.stringify(files)) fail(`${where}: dashboard ConfigMaps hold ${seen}, want ${files}`);
  } else if (dashCms.length) fail(`${where}: unexpected ConfigMaps ${dashCms.map((o) => o.metadata.name)}`);
}

// JSON with sorted keys: helm's toYaml reorders mappings, which changes nothing.
function canonical(v) {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isObj(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

function checksumMissing(w) {
  return !/^[0-9a-f]{64}$/.test(w.spec.template?.metadata?.annotations?.['checksum/config'] ?? '');
}

for (const o of objects) {
  if (o.kind === 'ServiceMonitor') checkServiceMonitor(o);
  if (o.kind === 'PrometheusRule') checkPrometheusRule(o);
}
if (expect?.startsWith('helm')) checkHelm();
else if (expect) checkPolicy();

const summary = `${objects.length} objects${expect ? ` (${expect} policy)` : ''}`;
if (failed) { console.error(`FAILED: ${failed} problem(s) in ${summary}`); process.exit(1); }
console.log(`OK: ${summary} valid`);
