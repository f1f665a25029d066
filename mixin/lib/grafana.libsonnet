// Minimal Grafana dashboard builders (schemaVersion 39), written here instead of vendoring
// grafonnet so that Debian's jsonnet alone renders the mixin. Panels are laid out by
// dashboard() below: give each panel w and h, it assigns ids and gridPos left to right.
local ds = { type: 'prometheus', uid: '${datasource}' };

{
  datasource:: ds,

  // One PromQL query. instant=true for tables and "now" values.
  target(expr, legend='__auto', instant=false, table=false):: {
    datasource: ds,
    expr: expr,
    legendFormat: legend,
    range: !instant,
    instant: instant,
    editorMode: 'code',
    [if table then 'format']: 'table',
  },

  local withRefIds(targets) = [
    targets[i] { refId: std.char(std.codepoint('A') + i) }
    for i in std.range(0, std.length(targets) - 1)
  ],

  local base(type, title, description, targets, w, h) = {
    type: type,
    title: title,
    description: description,
    datasource: ds,
    targets: withRefIds(targets),
    w:: w,
    h:: h,
  },

  local thresholds(steps) = { mode: 'absolute', steps: steps },
  local single(color) = thresholds([{ color: color, value: null }]),

  // Links opening another dashboard of the mixin with the row's site (and AP) filled in.
  // In tables the values come from the row (${__data.fields.x}); in graphs from the series
  // (${__field.labels.x}).
  drillLink(title, uid, vars, fromTable=true):: {
    title: title,
    url: '/d/%s/%s?${datasource:queryparam}&${__url_time_range}&%s' % [
      uid,
      uid,
      std.join('&', [
        'var-%s=${%s.%s}' % [v[0], if fromTable then '__data.fields' else '__field.labels', v[1]]
        for v in vars
      ]),
    ],
  },

  stat(title, description, targets, unit='short', w=3, h=4, color='blue', steps=null, mappings=[]):: base('stat', title, description, targets, w, h) {
    fieldConfig: {
      defaults: {
        thresholds: if steps == null then single(color) else thresholds(steps),
        unit: unit,
        mappings: mappings,
      },
      overrides: [],
    },
    options: {
      colorMode: 'value',
      graphMode: 'none',
      justifyMode: 'auto',
      orientation: 'auto',
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      textMode: 'auto',
      showPercentChange: false,
      wideLayout: true,
    },
  },

  // Value mappings: value -> text, e.g. { '0': '0 Success' } (Grafana shows the text instead
  // of the value in tables and stats).
  valueMappings(texts):: [{
    type: 'value',
    options: {
      [v]: { text: texts[v], index: i }
      for i in std.range(0, std.length(std.objectFields(texts)) - 1)
      for v in [std.objectFields(texts)[i]]
    },
  }],

  // Overrides renaming series by their legend: { '17': '17 AP full' } (graphs: value mappings
  // apply to values, not to series names).
  renameSeries(names):: [
    { matcher: { id: 'byName', options: n }, properties: [{ id: 'displayName', value: names[n] }] }
    for n in std.objectFields(names)
  ],

  timeseries(title, description, targets, unit='short', w=8, h=7, links=[], stack=false, overrides=[], max=null, min=null):: base('timeseries', title, description, targets, w, h) {
    fieldConfig: {
      defaults: {
        custom: {
          drawStyle: 'line',
          lineWidth: 1,
          fillOpacity: 10,
          showPoints: 'never',
          spanNulls: false,
          stacking: { mode: if stack then 'normal' else 'none', group: 'A' },
          axisPlacement: 'auto',
          gradientMode: 'none',
        },
        color: { mode: 'palette-classic' },
        unit: unit,
        links: links,
        [if max != null then 'max']: max,
        [if min != null then 'min']: min,
      },
      overrides: overrides,
    },
    options: {
      legend: { displayMode: 'table', placement: 'right', showLegend: true, calcs: ['mean', 'lastNotNull'] },
      tooltip: { mode: 'multi', sort: 'desc' },
    },
  },

  // A table of instant queries merged on their labels. columns: label or "Value #<refId>"
  // -> header; hidden: fields left out; links: label -> [drillLink]; units: header -> unit.
  // Overrides match the header (organize renames the display name; links still read the
  // row's values by label name, ${__data.fields.site_id}).
  // mappings: header -> value mappings (valueMappings()) for that column.
  table(title, description, targets, columns={}, hidden=[], links={}, units={}, w=12, h=8, sortBy=null, mappings={}):: base('table', title, description, targets, w, h) {
    local header(f) = if std.objectHas(columns, f) then columns[f] else f,
    fieldConfig: {
      defaults: { custom: { align: 'auto', cellOptions: { type: 'auto' } } },
      overrides: [
        { matcher: { id: 'byName', options: header(f) }, properties: [{ id: 'links', value: links[f] }] }
        for f in std.objectFields(links)
      ] + [
        { matcher: { id: 'byName', options: f }, properties: [{ id: 'unit', value: units[f] }] }
        for f in std.objectFields(units)
      ] + [
        { matcher: { id: 'byName', options: f }, properties: [{ id: 'mappings', value: mappings[f] }] }
        for f in std.objectFields(mappings)
      ],
    },
    options: {
      showHeader: true,
      cellHeight: 'sm',
      footer: { show: false, reducer: ['sum'], fields: '' },
      [if sortBy != null then 'sortBy']: [{ displayName: sortBy, desc: true }],
    },
    transformations: [
      { id: 'merge', options: {} },
      {
        id: 'organize',
        options: {
          excludeByName: { [f]: true for f in ['Time'] + hidden },
          renameByName: columns,
        },
      },
    ],
  },

  bargauge(title, description, targets, unit='short', w=12, h=8):: base('bargauge', title, description, targets, w, h) {
    fieldConfig: { defaults: { thresholds: single('blue'), decimals: 0, unit: unit }, overrides: [] },
    options: {
      displayMode: 'gradient',
      orientation: 'horizontal',
      showUnfilled: true,
      valueMode: 'color',
      namePlacement: 'auto',
      sizing: 'auto',
      minVizHeight: 16,
      minVizWidth: 8,
      maxVizHeight: 300,
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
    },
  },

  heatmap(title, description, targets, yUnit, w=12, h=9):: base('heatmap', title, description, targets, w, h) {
    fieldConfig: {
      defaults: { custom: { scaleDistribution: { type: 'linear' }, hideFrom: { legend: false, tooltip: false, viz: false } } },
      overrides: [],
    },
    options: {
      calculate: false,
      cellGap: 1,
      color: { mode: 'scheme', scheme: 'Spectral', steps: 64, exponent: 0.5, fill: 'dark-orange', reverse: false },
      yAxis: { axisPlacement: 'left', unit: yUnit, reverse: false },
      rowsFrame: { layout: 'le' },
      cellValues: { unit: 'short' },
      tooltip: { mode: 'single', yHistogram: true, showColorScale: false },
      legend: { show: true },
      filterValues: { le: 1e-09 },
      exemplars: { color: 'rgba(255,0,255,0.7)' },
    },
  },

  row(title):: { type: 'row', title: title, collapsed: false, panels: [], w:: 24, h:: 1 },

  // Template variables.
  datasourceVariable:: {
    name: 'datasource',
    label: 'Data source',
    type: 'datasource',
    query: 'prometheus',
    hide: 0,
    includeAll: false,
    multi: false,
    options: [],
    refresh: 1,
    regex: '',
    skipUrlSync: false,
  },

  // A query variable, multi-value with "All" (= .*). regex may name the groups text and value.
  queryVariable(name, label, query, regex='', hide=0):: {
    name: name,
    label: label,
    type: 'query',
    datasource: ds,
    definition: query,
    query: { qryType: if std.startsWith(query, 'label_values') then 1 else 3, query: query, refId: 'PrometheusVariableQueryEditor-VariableQuery' },
    current: { selected: true, text: ['All'], value: ['$__all'] },
    hide: hide,
    includeAll: true,
    allValue: '.*',
    multi: true,
    options: [],
    refresh: 2,
    regex: regex,
    skipUrlSync: false,
    sort: 1,
  },

  customVariable(name, label, values, default):: {
    name: name,
    label: label,
    type: 'custom',
    query: std.join(',', [std.toString(v) for v in values]),
    current: { selected: true, text: std.toString(default), value: std.toString(default) },
    options: [
      { selected: v == default, text: std.toString(v), value: std.toString(v) }
      for v in values
    ],
    hide: 0,
    includeAll: false,
    multi: false,
    skipUrlSync: false,
  },

  // Places the panels: rows take a full line; other panels fill lines of 24 columns left to
  // right (a panel that does not fit starts a new line below the tallest one of the line).
  local layout(panels) =
    local step(acc, p) =
      local newLine = p.type == 'row' || acc.x + p.w > 24;
      local x = if newLine then 0 else acc.x;
      local y = if newLine then acc.y + acc.lineH else acc.y;
      local lineH = if newLine then p.h else std.max(acc.lineH, p.h);
      {
        x: if p.type == 'row' then 24 else x + p.w,
        y: y,
        lineH: lineH,
        out: acc.out + [p { id: std.length(acc.out) + 1, gridPos: { x: x, y: y, w: p.w, h: p.h } }],
      };
    std.foldl(step, panels, { x: 24, y: 0, lineH: 0, out: [] }).out,

  dashboard(c, uid, title, description, variables, panels):: {
    annotations: {
      list: [{
        builtIn: 1,
        datasource: { type: 'grafana', uid: '-- Grafana --' },
        enable: true,
        hide: true,
        iconColor: 'rgba(0, 211, 255, 1)',
        name: 'Annotations & Alerts',
        type: 'dashboard',
      }],
    },
    description: description,
    editable: true,
    fiscalYearStartMonth: 0,
    graphTooltip: 1,
    id: null,
    links: [{
      asDropdown: true,
      icon: 'external link',
      includeVars: true,
      keepTime: true,
      tags: c.dashboardTags,
      targetBlank: false,
      title: 'Mist pcap dashboards',
      tooltip: '',
      type: 'dashboards',
      url: '',
    }],
    panels: layout(panels),
    refresh: c.dashboardRefresh,
    schemaVersion: 39,
    tags: c.dashboardTags + ['mist', 'prometheus'],
    templating: { list: variables },
    time: { from: c.dashboardTime, to: 'now' },
    timepicker: {},
    timezone: 'browser',
    title: title,
    uid: uid,
    version: 1,
    weekStart: '',
  },
}
