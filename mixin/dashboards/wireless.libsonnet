// Wireless (radiotap) traffic of the selected sites and APs; per-AP and per-channel panels
// show the top $topn only.
local g = import '../lib/grafana.libsonnet';
local common = import 'common.libsonnet';

function(c)
  local S = common.sites;
  local SA = common.siteAndAP;
  local t = g.target;
  local tt(e) = g.target(e, instant=true, table=true);
  local radio = '%s, interface="radiotap"' % SA;

  g.dashboard(
    c,
    c.dashboardUIDs.wireless,
    'Mist pcap / Wireless',
    'Wireless packet captures: packets and bytes of the busiest APs (by name), 802.11 frame types, RSSI, bands, channels and data rates. Opened from the overview with the site (and AP) filled in.',
    common.variables(c),
    [
      g.row('Traffic'),
      g.stat('Wireless packets/s', 'Radiotap packets per second of the selected sites and APs.',
             [t('sum(rate(mist_pcap_packets_total{%s}[$__rate_interval])) or vector(0)' % radio)], unit='pps', w=6),
      g.stat('Wireless bytes/s', 'Radiotap bytes per second.',
             [t('sum(rate(mist_pcap_bytes_total{%s}[$__rate_interval])) or vector(0)' % radio)], unit='Bps', w=6),
      g.stat('APs capturing', 'APs that delivered radiotap packets.',
             [t('count(sum by (site_id, ap_mac) (rate(mist_pcap_packets_total{%s}[$__rate_interval])) > 0) or vector(0)' % radio)], w=6),
      g.stat('Median RSSI', 'Median RSSI of all captured frames.',
             [t('histogram_quantile(0.5, sum by (le) (rate(mist_pcap_wireless_rssi_dbm_bucket{%s}[$__rate_interval])))' % SA)], unit='dBm', w=6),
      g.timeseries(
        'Packets/s, top $topn APs and directions',
        'Radiotap packets per second of the APs (and directions) with the most packets over the range, by name.',
        [t(common.topN(common.withApName('sum by (site_id, site, ap_mac, direction) (rate(mist_pcap_packets_total{%s}[$__rate_interval]))' % radio),
                       'site_id, ap_mac, direction',
                       'sum by (site_id, ap_mac, direction) (increase(mist_pcap_packets_total{%s}[$__range] @ end()))' % radio),
           '{{ap_name}} {{direction}}')],
        unit='pps', w=12, h=8, links=common.apLinks(c, false),
      ),
      g.timeseries(
        'Bytes/s, top $topn APs and directions',
        'Radiotap bytes per second of the APs (and directions) with the most bytes over the range, by name.',
        [t(common.topN(common.withApName('sum by (site_id, site, ap_mac, direction) (rate(mist_pcap_bytes_total{%s}[$__rate_interval]))' % radio),
                       'site_id, ap_mac, direction',
                       'sum by (site_id, ap_mac, direction) (increase(mist_pcap_bytes_total{%s}[$__range] @ end()))' % radio),
           '{{ap_name}} {{direction}}')],
        unit='Bps', w=12, h=8, links=common.apLinks(c, false),
      ),
      g.table(
        'Busiest APs',
        'The APs with the most radiotap packets over the selected range, by name. Click an AP for its wired dashboard or to narrow this one.',
        [tt('topk($topn, %s)' % common.withApName('sum by (site_id, site, ap_mac) (increase(mist_pcap_packets_total{%s}[$__range]))' % radio))],
        columns={ ap_name: 'AP', ap_mac: 'MAC', Value: 'Packets' }, links={ ap_name: common.apLinks(c) }, w=24, h=8, sortBy='Packets',
      ),

      g.row('802.11 frames'),
      g.timeseries('Frames/s by type', 'Frames per second by 802.11 frame type.',
                   [t('topk($topn, sum by (frame_type) (rate(mist_pcap_wireless_frames_total{%s}[$__rate_interval])))' % SA, '{{frame_type}}')], w=12, h=8),
      g.bargauge('Frame subtypes (selected time range), top $topn', 'Frames per subtype over the selected time range.',
                 [g.target('sort_desc(topk($topn, sum by (frame_type, frame_subtype) (increase(mist_pcap_wireless_frames_total{%s}[$__range]))))' % SA, '{{frame_type}} / {{frame_subtype}}', instant=true)]),
      g.timeseries(
        'Frames/s by subtype, top $topn',
        'Frames per second of the subtypes most seen over the range.',
        [t(common.topN('sum by (frame_type, frame_subtype) (rate(mist_pcap_wireless_frames_total{%s}[$__rate_interval]))' % SA, 'frame_type, frame_subtype',
                       'sum by (frame_type, frame_subtype) (increase(mist_pcap_wireless_frames_total{%s}[$__range] @ end()))' % SA),
           '{{frame_type}} / {{frame_subtype}}')],
        w=24, h=8,
      ),

      g.row('Signal'),
      g.heatmap('RSSI distribution', 'Captured frames per RSSI bucket (histogram mist_pcap_wireless_rssi_dbm, buckets -90 to -30 dBm).',
                [g.target('sum by (le) (increase(mist_pcap_wireless_rssi_dbm_bucket{%s}[$__rate_interval]))' % SA, '{{le}}') { format: 'heatmap' }], 'dBm'),
      g.timeseries(
        'Median RSSI, $topn weakest APs',
        'Median RSSI per AP; the APs with the lowest median over the range, by name.',
        [t(common.topN(common.withApName('histogram_quantile(0.5, sum by (site_id, site, ap_mac, le) (rate(mist_pcap_wireless_rssi_dbm_bucket{%s}[$__rate_interval])))' % SA),
                       'site_id, ap_mac',
                       'histogram_quantile(0.5, sum by (site_id, ap_mac, le) (increase(mist_pcap_wireless_rssi_dbm_bucket{%s}[$__range] @ end())))' % SA,
                       'bottomk'),
           '{{ap_name}}')],
        unit='dBm', w=12, h=9, links=common.apLinks(c, false),
      ),
      g.timeseries(
        'Median RSSI by site and band, $topn weakest',
        'Median RSSI per site and band (recording rule); the weakest at the end of the range.',
        [t(common.topN('mist_pcap:wireless_rssi_dbm:p50_%s{%s}' % [c.rateInterval, S], 'site_id, band',
                       'mist_pcap:wireless_rssi_dbm:p50_%s{%s} @ end()' % [c.rateInterval, S], 'bottomk'),
           '{{site}} {{band}} GHz')],
        unit='dBm', w=24, h=7, links=common.siteLinks(c, false),
      ),

      g.row('Bands and channels'),
      g.timeseries('Frames/s by band', 'Frames per second per band.',
                   [t('sum by (band) (rate(mist_pcap_wireless_channel_frames_total{%s}[$__rate_interval]))' % S, '{{band}} GHz')], w=8, h=8),
      g.timeseries(
        'Frames/s by channel, top $topn',
        'Frames per second of the busiest channels over the range.',
        [t(common.topN('sum by (band, channel) (rate(mist_pcap_wireless_channel_frames_total{%s}[$__rate_interval]))' % S, 'band, channel',
                       'sum by (band, channel) (increase(mist_pcap_wireless_channel_frames_total{%s}[$__range] @ end()))' % S),
           'ch {{channel}} ({{band}} GHz)')],
        w=16, h=8,
      ),
      g.bargauge('Channel activity (selected time range), top $topn', 'Frames per channel over the selected time range.',
                 [g.target('sort_desc(topk($topn, sum by (band, channel) (increase(mist_pcap_wireless_channel_frames_total{%s}[$__range]))))' % S, 'ch {{channel}} ({{band}} GHz)', instant=true)]),
      g.timeseries(
        'Frames/s by AP and band, top $topn',
        'Frames per second of the busiest AP/band pairs over the range, by name.',
        [t(common.topN(common.withApName('sum by (site_id, site, ap_mac, band) (rate(mist_pcap_wireless_frames_total{%s}[$__rate_interval]))' % SA),
                       'site_id, ap_mac, band',
                       'sum by (site_id, ap_mac, band) (increase(mist_pcap_wireless_frames_total{%s}[$__range] @ end()))' % SA),
           '{{ap_name}} {{band}} GHz')],
        w=12, h=8, links=common.apLinks(c, false),
      ),

      g.row('Data rates'),
      g.bargauge('Data-rate distribution (selected time range)', 'Frames per data-rate bucket over the selected time range.',
                 [g.target('sum by (le) (increase(mist_pcap_wireless_data_rate_mbps_bucket{%s}[$__range]))' % S, '≤ {{le}} Mbps', instant=true) { format: 'heatmap' }]),
      g.timeseries('Data rate by band (median, p90, mean)', 'Data rate per band.',
                   [
                     t('histogram_quantile(0.5, sum by (band, le) (rate(mist_pcap_wireless_data_rate_mbps_bucket{%s}[$__rate_interval])))' % S, 'median {{band}} GHz'),
                     t('histogram_quantile(0.9, sum by (band, le) (rate(mist_pcap_wireless_data_rate_mbps_bucket{%s}[$__rate_interval])))' % S, 'p90 {{band}} GHz'),
                     t('sum by (band) (rate(mist_pcap_wireless_data_rate_mbps_sum{%s}[$__rate_interval])) / sum by (band) (rate(mist_pcap_wireless_data_rate_mbps_count{%s}[$__rate_interval]))' % [S, S], 'mean {{band}} GHz'),
                   ], unit='Mbits', w=12, h=8),
    ],
  )
