import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { n } from './format.js';
import { html } from './html.js';

const SERIES = [
  { key: 'total', label: 'All', stroke: '#1d4ed8', width: 2 },
  { key: 'web', label: 'Web', stroke: '#059669', width: 1 },
  { key: 'apns', label: 'APNs', stroke: '#9333ea', width: 1 },
  { key: 'fcm', label: 'FCM', stroke: '#d97706', width: 1 },
];

/**
 * Subscribers per day (uPlot, on a canvas, as wide as its box and redrawn when that changes). The
 * figure's text alternative says the first and last counts; the numbers are on the page besides.
 */
export function SubscribersChart({ days, span = 30 }) {
  const box = useRef(null);
  const plot = useRef(null);
  useEffect(() => {
    const el = box.current;
    const data = [
      days.map((d) => Date.parse(`${d.day}T00:00:00Z`) / 1000),
      ...SERIES.map((s) => days.map((d) => d.subscribers[s.key])),
    ];
    const width = Math.max(200, el.clientWidth);
    if (plot.current) {
      plot.current.setData(data);
    } else {
      plot.current = new uPlot(
        {
          width,
          height: 220,
          series: [{}, ...SERIES.map((s) => ({ label: s.label, stroke: s.stroke, width: s.width, points: { show: days.length < 40 }, value: (_u, v) => n(v) }))],
          axes: [{}, { values: (_u, ticks) => ticks.map((t) => n(t)), size: 60 }],
          // The whole window asked for, however few days have figures (a new project has one point).
          scales: {
            x: {
              time: true,
              auto: false,
              range: (u) => {
                const xs = u.data[0];
                const last = xs.length ? xs[xs.length - 1] : Math.floor(Date.now() / 86_400_000) * 86_400;
                return [Math.min(xs[0] ?? last, last - (span - 1) * 86_400) - 43_200, last + 43_200];
              },
            },
          },
          legend: { live: false },
        },
        data,
        el,
      );
    }
  }, [days]);
  useEffect(() => {
    const el = box.current;
    const observer = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(200, el.clientWidth), height: 220 }));
    observer.observe(el);
    return () => {
      observer.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, []);
  const first = days[0];
  const last = days[days.length - 1];
  const summary = first && last ? `Subscribers from ${first.day} (${n(first.subscribers.total)}) to ${last.day} (${n(last.subscribers.total)})` : 'No data yet';
  return html`<figure class="chart">
    <div ref=${box} role="img" aria-label=${summary}></div>
    <figcaption class="muted">${summary}</figcaption>
  </figure>`;
}

/** Targeted → sent → opened, as bars of the targeted count (plain HTML: readable without the bars). */
export function Funnel({ steps }) {
  const top = Math.max(1, steps[0]?.value ?? 0);
  return html`<ol class="funnel" aria-label="Funnel">
    ${steps.map((s) => html`<li key=${s.label}>
      <span class="funnel-label">${s.label}</span>
      <span class="funnel-bar" aria-hidden="true"><span style=${`width:${Math.min(100, (100 * s.value) / top)}%`}></span></span>
      <span class="funnel-value">${n(s.value)}</span>
    </li>`)}
  </ol>`;
}
