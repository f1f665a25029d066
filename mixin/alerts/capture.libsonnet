// Packet captures at the sites.
local r = import '../lib/rules.libsonnet';

function(c) [
  r.alert(
    c, 'MistPcapCaptureAPsFailed', 'warning',
    'mist_pcap_capture_aps{%(selector)s, state="failed"} > 0',
    c.captureAPsFailedFor,
    '{{ $value }} AP(s) failed to join the capture at site {{ $labels.site }}',
    'The running packet capture at site {{ $labels.site }} ({{ $labels.site_id }}) reports '
    + '{{ $value }} AP(s) in state failed. See mist_pcap_capture_ap_failed for which ones.',
  ),

  // Only format="stream" captures reach the WebSocket: pcap (Mist's default for AP types),
  // tzsp and captures without a format (client, new_assoc: format="unknown") never do, so
  // silence from them is expected.
  r.alert(
    c, 'MistPcapCaptureNoData', 'warning',
    |||
      mist_pcap_capture_running{%(selector)s} == 1
      and on (site_id)
      mist_pcap_capture_info{%(selector)s, format="stream"}
      unless on (site_id)
      (sum by (site_id) (rate(mist_pcap_packets_total{%(selector)s}[%(captureNoDataWindow)s])) > 0)
      unless on (job, instance)
    ||| + r.tokenRefused(c),
    c.captureNoDataFor,
    'Capture at site {{ $labels.site }} is running but no packets arrive',
    'Mist reports a running packet capture at site {{ $labels.site }} ({{ $labels.site_id }}), '
    + 'but the exporter has received no packet for it over the stream for at least 10 minutes.',
  ),

  r.alert(
    c, 'MistPcapManagedCaptureStartFailed', 'warning',
    |||
      sum by (job, instance, site_id, site) (increase(mist_pcap_managed_capture_starts_total{%(selector)s, result="error"}[%(managedStartWindow)s])) > 0
      unless on (job, instance, site_id)
      sum by (job, instance, site_id) (increase(mist_pcap_managed_capture_starts_total{%(selector)s, result="ok"}[%(managedStartWindow)s])) > 0
    |||,
    c.managedStartFor,
    'Managed capture at site {{ $labels.site }} fails to start',
    '{{ $labels.instance }} tried to start its managed capture at site {{ $labels.site }} '
    + '({{ $labels.site_id }}) and Mist refused {{ $value | printf "%.0f" }} time(s) in the last '
    + '30 minutes without a successful start. No capture runs there, so no packets are counted.',
  ),
]
