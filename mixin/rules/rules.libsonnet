// Recording rules used by the dashboards (and handy in ad-hoc queries).
local r = import '../lib/rules.libsonnet';

{
  prometheusRules+:: {
    local c = $._config,
    groups+: [
      {
        name: 'mist-pcap-exporter.records',
        rules: [
          // Per AP packet and byte rates.
          r.record(c, 'mist_pcap:packets:rate%(rateInterval)s',
                   'sum by (site_id, site, ap_mac) (rate(mist_pcap_packets_total{%(selector)s}[%(rateInterval)s]))'),
          r.record(c, 'mist_pcap:bytes:rate%(rateInterval)s',
                   'sum by (site_id, site, ap_mac) (rate(mist_pcap_bytes_total{%(selector)s}[%(rateInterval)s]))'),
          // Per site packet rate: the overview's top-N sites.
          r.record(c, 'mist_pcap:site_packets:rate%(rateInterval)s',
                   'sum by (site_id, site) (rate(mist_pcap_packets_total{%(selector)s}[%(rateInterval)s]))'),
          // Median RSSI per site and band from the histogram.
          r.record(c, 'mist_pcap:wireless_rssi_dbm:p50_%(rateInterval)s', |||
            histogram_quantile(0.5,
              sum by (site_id, site, band, le) (rate(mist_pcap_wireless_rssi_dbm_bucket{%(selector)s}[%(rateInterval)s])))
          |||),
          // Mist API request rate per endpoint and code.
          r.record(c, 'mist_pcap:api_requests:rate%(rateInterval)s',
                   'sum by (job, instance, endpoint, code) (rate(mist_pcap_api_requests_total{%(selector)s}[%(rateInterval)s]))'),
          // Failed answers (see lib/rules.libsonnet apiErrors: 404 on capture_status is not one).
          r.record(c, 'mist_pcap:api_errors:rate%(rateInterval)s',
                   'sum by (job, instance, endpoint, code) (\n' + r.apiErrors(c, c.rateInterval) + ')\n'),
          r.record(c, 'mist_pcap:api_errors:ratio_rate%(rateInterval)s', |||
            sum by (job, instance, endpoint) (mist_pcap:api_errors:rate%(rateInterval)s)
            /
            sum by (job, instance, endpoint) (mist_pcap:api_requests:rate%(rateInterval)s)
          |||),
          // Per AP counts over the client alerts' windows: MistPcapHandshakeFailures reads the
          // handshakes three times and MistPcapDHCPFailing the DHCP messages seven times; from
          // these records each raw series is read once per evaluation (fleets: tens of
          // thousands of APs).
          r.record(c, 'mist_pcap:eapol_handshakes:increase%(handshakeFailuresWindow)s',
                   'sum by (job, instance, site_id, site, ap_mac, result) (increase(mist_pcap_eapol_handshakes_total{%(selector)s}[%(handshakeFailuresWindow)s]))'),
          r.record(c, 'mist_pcap:wired_dhcp_messages:increase%(dhcpFailingWindow)s',
                   'sum by (job, instance, site_id, site, ap_mac, message_type) (increase(mist_pcap_wired_dhcp_messages_total{%(selector)s}[%(dhcpFailingWindow)s]))'),
        ],
      },
    ],
  },
}
