// Wired traffic of the selected sites and APs: protocols, VLANs and APs, top $topn each.
local g = import '../lib/grafana.libsonnet';
local common = import 'common.libsonnet';

function(c)
  local SA = common.siteAndAP;
  local t = g.target;
  local tt(e) = g.target(e, instant=true, table=true);
  local wiredIf = '%s, interface="wired"' % SA;
  // Per-protocol / per-VLAN graph of `metric`, ranked by its increase over the range.
  local topBy(metric, by) = common.topN(
    'sum by (%s) (rate(%s{%s}[$__rate_interval]))' % [by, metric, SA], by,
    'sum by (%s) (increase(%s{%s}[$__range] @ end()))' % [by, metric, SA]
  );

  g.dashboard(
    c,
    c.dashboardUIDs.wired,
    'Mist pcap / Wired',
    'Wired packet captures: protocols, VLANs and the busiest APs (by name), top $topn each. Opened from the overview with the site (and AP) filled in.',
    common.variables(c),
    [
      g.row('Summary'),
      g.stat('Wired packets/s', 'Wired packets per second of the selected sites and APs.',
             [t('sum(rate(mist_pcap_wired_packets_total{%s}[$__rate_interval])) or vector(0)' % SA)], unit='pps', w=6),
      g.stat('Wired bytes/s', 'Wired bytes per second.',
             [t('sum(rate(mist_pcap_wired_bytes_total{%s}[$__rate_interval])) or vector(0)' % SA)], unit='Bps', w=6),
      g.stat('Protocols seen', 'Distinct protocols.',
             [t('count(sum by (protocol) (mist_pcap_wired_packets_total{%s})) or vector(0)' % SA)], w=6),
      g.stat('VLANs seen', 'Distinct VLANs ("none" = untagged).',
             [t('count(sum by (vlan) (mist_pcap_wired_packets_total{%s})) or vector(0)' % SA)], w=6),

      g.row('Protocols'),
      g.timeseries('Packets/s by protocol, top $topn', 'Wired packets per second of the protocols most seen over the range.',
                   [t(topBy('mist_pcap_wired_packets_total', 'protocol'), '{{protocol}}')], unit='pps', w=12, h=8),
      g.timeseries('Bytes/s by protocol, top $topn', 'Wired bytes per second of the protocols with the most bytes over the range.',
                   [t(topBy('mist_pcap_wired_bytes_total', 'protocol'), '{{protocol}}')], unit='Bps', w=12, h=8),
      g.bargauge('Bytes by protocol (selected time range), top $topn', 'Bytes per protocol over the selected time range.',
                 [g.target('sort_desc(topk($topn, sum by (protocol) (increase(mist_pcap_wired_bytes_total{%s}[$__range]))))' % SA, '{{protocol}}', instant=true)], unit='bytes'),
      g.timeseries(
        'Average packet size by protocol, top $topn',
        'Bytes per packet of the protocols with the most bytes over the range.',
        [t(common.topN(
          'sum by (protocol) (rate(mist_pcap_wired_bytes_total{%s}[$__rate_interval])) / sum by (protocol) (rate(mist_pcap_wired_packets_total{%s}[$__rate_interval]))' % [SA, SA],
          'protocol',
          'sum by (protocol) (increase(mist_pcap_wired_bytes_total{%s}[$__range] @ end()))' % SA
        ), '{{protocol}}')],
        unit='bytes', w=12, h=8,
      ),

      g.row('VLANs'),
      g.timeseries('Packets/s by VLAN, top $topn', 'Wired packets per second of the busiest VLANs.',
                   [t(topBy('mist_pcap_wired_packets_total', 'vlan'), 'VLAN {{vlan}}')], unit='pps', w=12, h=8),
      g.timeseries('Bytes/s by VLAN, top $topn', 'Wired bytes per second of the busiest VLANs.',
                   [t(topBy('mist_pcap_wired_bytes_total', 'vlan'), 'VLAN {{vlan}}')], unit='Bps', w=12, h=8),
      g.bargauge('Bytes by VLAN (selected time range), top $topn', 'Bytes per VLAN over the selected time range.',
                 [g.target('sort_desc(topk($topn, sum by (vlan) (increase(mist_pcap_wired_bytes_total{%s}[$__range]))))' % SA, 'VLAN {{vlan}}', instant=true)], unit='bytes'),
      g.timeseries('Packets/s by VLAN and protocol, top $topn', 'Wired packets per second of the busiest VLAN/protocol pairs.',
                   [t(topBy('mist_pcap_wired_packets_total', 'vlan, protocol'), 'VLAN {{vlan}} {{protocol}}')], unit='pps', w=12, h=8),

      g.row('APs'),
      g.timeseries(
        'Wired packets/s, top $topn APs and directions',
        'Wired packets per second of the APs (and directions) with the most packets over the range, by name.',
        [t(common.topN(common.withApName('sum by (site_id, site, ap_mac, direction) (rate(mist_pcap_packets_total{%s}[$__rate_interval]))' % wiredIf),
                       'site_id, ap_mac, direction',
                       'sum by (site_id, ap_mac, direction) (increase(mist_pcap_packets_total{%s}[$__range] @ end()))' % wiredIf),
           '{{ap_name}} {{direction}}')],
        unit='pps', w=12, h=8, links=common.apLinks(c, false),
      ),
      g.timeseries(
        'Wired bytes/s, top $topn APs and directions',
        'Wired bytes per second of the APs (and directions) with the most bytes over the range, by name.',
        [t(common.topN(common.withApName('sum by (site_id, site, ap_mac, direction) (rate(mist_pcap_bytes_total{%s}[$__rate_interval]))' % wiredIf),
                       'site_id, ap_mac, direction',
                       'sum by (site_id, ap_mac, direction) (increase(mist_pcap_bytes_total{%s}[$__range] @ end()))' % wiredIf),
           '{{ap_name}} {{direction}}')],
        unit='Bps', w=12, h=8, links=common.apLinks(c, false),
      ),
      g.table(
        'Top AP / protocol / VLAN by bytes (selected time range)',
        'The AP, protocol and VLAN combinations with the most bytes, by AP name. Click an AP for its wireless dashboard or to narrow this one.',
        [tt('topk($topn, %s)' % common.withApName('sum by (site_id, site, ap_mac, protocol, vlan) (increase(mist_pcap_wired_bytes_total{%s}[$__range]))' % SA))],
        columns={ ap_name: 'AP', ap_mac: 'MAC', protocol: 'Protocol', vlan: 'VLAN', Value: 'Bytes' },
        links={ ap_name: common.apLinks(c) }, units={ Bytes: 'bytes' }, w=24, h=9, sortBy='Bytes',
      ),
    ],
  )
