// The exporter process itself: scrape target, config reloads, series limits, the archive.
local r = import '../lib/rules.libsonnet';

function(c) [
  r.alert(
    c, 'MistPcapExporterDown', 'critical',
    |||
      up{%(selector)s} == 0
      or
      absent(up{%(selector)s})
    |||,
    c.exporterDownFor,
    'mist-pcap-exporter target is down or missing',
    'Prometheus has not scraped mist-pcap-exporter (%s, instance="{{ $labels.instance }}") ' % c.selector
    + 'successfully for 5 minutes, or no such target exists. Packet capture metrics and the other '
    + 'alerts are blind meanwhile.',
  ),

  // The previous config keeps running after a failed reload, so nothing breaks at once; the
  // alert says that the file on disk is not what runs (and will not start after a restart).
  r.alert(
    c, 'MistPcapConfigReloadFailed', 'warning',
    'mist_pcap_exporter_config_last_reload_successful{%(selector)s} == 0',
    c.configReloadFailedFor,
    'Config reload of {{ $labels.instance }} failed',
    'The last config reload (SIGHUP or POST /-/reload) of {{ $labels.instance }} failed; the '
    + 'previous config is still running. The config file on disk would also fail at the next '
    + 'start. The exporter log has the file, line and key.',
  ),

  r.alert(
    c, 'MistPcapConfigRestartRequired', 'warning',
    'mist_pcap_exporter_config_restart_required{%(selector)s} == 1',
    c.restartRequiredFor,
    '{{ $labels.instance }} runs an older config until it is restarted',
    'The config reloaded into {{ $labels.instance }} changes keys that only take effect after '
    + 'a restart; their running values are kept. The exporter log names the keys '
    + '("restart required, keeping the running value").',
  ),

  r.alert(
    c, 'MistPcapSeriesDropped', 'warning',
    'sum by (job, instance, family) (increase(mist_pcap_series_dropped_total{%(selector)s}[%(seriesDroppedWindow)s])) > 0',
    c.seriesDroppedFor,
    'Label sets of {{ $labels.family }} are folded into "other"',
    '{{ $labels.instance }} folded {{ $value | printf "%.0f" }} new label sets of '
    + '{{ $labels.family }} into the value "other" in the last 15 minutes because the family '
    + 'reached metrics.max_series_per_family. Per-AP or per-protocol detail of the new label '
    + 'sets is lost.',
  ),

  r.alert(
    c, 'MistPcapArchiveErrors', 'warning',
    'sum by (job, instance, reason) (increase(mist_pcap_archive_errors_total{%(selector)s}[%(archiveErrorsWindow)s])) > 0',
    c.archiveErrorsFor,
    'pcap archive of {{ $labels.instance }} drops packets ({{ $labels.reason }})',
    '{{ $labels.instance }} could not write {{ $value | printf "%.0f" }} packets to the pcap '
    + 'archive in the last 10 minutes (reason {{ $labels.reason }}). Metrics are not affected; '
    + 'the archived pcap files miss these packets.',
  ),
]
