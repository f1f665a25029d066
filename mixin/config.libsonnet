// Settings of the mist-pcap-exporter mixin. Override any of them from your own jsonnet:
//   (import 'mixin/mixin.libsonnet') + { _config+:: { selector: 'job="mist"' } }
{
  _config+:: {
    // Matchers every alert and recording rule puts on the exporter's series, so that a
    // Prometheus scraping several exporters only judges this one. The job name is what the
    // ServiceMonitor / scrape config gives the target (deploy/ uses mist-pcap-exporter).
    jobName: 'mist-pcap-exporter',
    selector: 'job="%s"' % self.jobName,

    // Severity label values, for Alertmanager routes that use other names.
    severities: {
      critical: 'critical',
      warning: 'warning',
    },

    // runbook_url = runbookURLBase + '#runbook-' + lower-case alert name (docs/operations.md
    // has one heading per alert).
    runbookURLBase: 'https://github.com/mist-pcap-exporter/mist-pcap-exporter/blob/main/docs/operations.md',

    // Window of the recording rules; it is part of their names (mist_pcap:packets:rate5m).
    rateInterval: '5m',

    // Alert thresholds and durations.
    exporterDownFor: '5m',
    siteDownFor: '10m',
    streamDownFor: '5m',
    captureAPsFailedFor: '5m',
    captureNoDataWindow: '10m',
    captureNoDataFor: '10m',
    lostMessagesWindow: '10m',
    lostMessagesFor: '5m',
    decodeErrorRatio: 0.01,
    decodeErrorsWindow: '10m',
    decodeErrorsFor: '15m',
    rateLimitedWindow: '15m',
    rateLimitedFor: '5m',
    tokenNearLimitRatio: 0.9,
    tokenNearLimitFor: '10m',
    // A token counts as refused when Mist answered 401/403 and nothing succeeded within this
    // window: a token lacking one site's privilege still gets 2xx for the others (that is a
    // MistPcapSiteDown), a revoked one gets none.
    tokenRefusedWindow: '5m',
    tokenRefusedFor: '5m',
    configReloadFailedFor: '5m',
    restartRequiredFor: '1h',
    seriesDroppedWindow: '15m',
    seriesDroppedFor: '5m',
    archiveErrorsWindow: '10m',
    archiveErrorsFor: '5m',
    // A failed start followed by a good one (the exporter retries) within the window is fine.
    managedStartWindow: '30m',
    managedStartFor: '5m',
    subscriptionFailedFor: '10m',
    pollStretchFor: '30m',

    // Client connectivity (what the captured frames say about clients; docs/operations.md
    // has a runbook per alert). Each alert judges one capturing AP (site_id, ap_mac).
    // MistPcapDeauthFlood: deauthentication frames sent or received (either direction) per
    // second, averaged over deauthFloodWindow, above deauthFloodRate.
    deauthFloodRate: 1,
    deauthFloodWindow: '5m',
    deauthFloodFor: '5m',
    // MistPcapHandshakeFailures: incomplete / (complete + incomplete) 4-way handshakes over
    // handshakeFailuresWindow above handshakeFailureRatio, judged only when at least
    // handshakeMinCount handshakes ended in the window (a single client retrying its wrong
    // passphrase is not an outage).
    handshakeFailureRatio: 0.2,
    handshakeMinCount: 10,
    handshakeFailuresWindow: '10m',
    handshakeFailuresFor: '10m',
    // MistPcapDHCPFailing, either of:
    //   NAKs / (ACKs + NAKs) above dhcpNakRatio, with at least dhcpMinCount ACKs + NAKs;
    //   (DISCOVERs - OFFERs) / DISCOVERs above dhcpNoOfferRatio, with at least dhcpMinCount
    //   DISCOVERs; both over dhcpFailingWindow.
    dhcpNakRatio: 0.2,
    dhcpNoOfferRatio: 0.2,
    dhcpMinCount: 10,
    dhcpFailingWindow: '10m',
    dhcpFailingFor: '10m',

    // Dashboards.
    dashboardTags: ['mist-pcap'],
    dashboardRefresh: '30s',
    dashboardTime: 'now-1h',
    // Worst-N panels: choices of the $topn variable. Grafana draws every series a query
    // returns; with 2,000 sites a per-site panel is unreadable and slow, so no panel may draw
    // more than maxSeriesPerPanel (scripts/fleet_dashboards.sh checks it against Prometheus).
    topNChoices: [5, 10, 20],
    topNDefault: 10,
    maxSeriesPerPanel: 20,
    dashboardUIDs: {
      overview: 'mist-pcap-overview',
      wireless: 'mist-pcap-wireless',
      wired: 'mist-pcap-wired',
      clients: 'mist-pcap-clients',
    },
  },
}
