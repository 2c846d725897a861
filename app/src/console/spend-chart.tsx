/**
 * Spend per day as bars (uPlot: small, canvas, maintained), loaded only when the overview shows it.
 * A table with the same figures sits beside it for screen readers.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { usd } from '../format.ts';

export default function SpendChart({ days }: { days: { day: string; spent_usd: number }[] }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!box.current) return;
    const x = days.map((d) => Date.parse(`${d.day}T00:00:00Z`) / 1000);
    const y = days.map((d) => d.spent_usd);
    const width = Math.max(280, Math.min(box.current.clientWidth || 600, 900));
    const chart = new uPlot({
      width, height: 180,
      legend: { show: false },
      // Half a day either side, so the first and last days' bars are drawn whole.
      scales: { x: { time: true, range: (_u, min, max) => [min - 43_200, max + 43_200] } },
      axes: [{}, { values: (_u, values) => values.map((v) => usd(v)), size: 70 }],
      series: [{}, { label: 'Spent', stroke: '#0a4fb3', fill: 'rgba(10, 79, 179, 0.35)', paths: uPlot.paths.bars!({ size: [0.7, 40] }), points: { show: false } }],
    }, [x, y], box.current);
    return () => chart.destroy();
  }, [days]);
  const total = days.reduce((sum, d) => sum + d.spent_usd, 0);
  return (
    <figure class="chart">
      <div ref={box} aria-hidden="true" />
      <figcaption>{usd(total)} over the last {days.length} days (reward + fee of tasks posted, less refunds).</figcaption>
      <table class="visually-hidden">
        <caption>Spend per day</caption>
        <tbody>{days.filter((d) => d.spent_usd > 0).map((d) => <tr key={d.day}><th scope="row">{d.day}</th><td>{usd(d.spent_usd)}</td></tr>)}</tbody>
      </table>
    </figure>
  );
}
