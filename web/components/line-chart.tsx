'use client';
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/**
 * A time series chart drawn by uPlot (canvas, about 20 KB gzipped, maintained): one x series of
 * Unix seconds (uPlot shows them in the browser's time zone) and one or more y series.
 */
export function LineChart({
  title,
  unit,
  times,
  series,
}: {
  title: string;
  unit: string;
  times: number[];
  series: { label: string; values: (number | null)[]; color: string; points?: boolean }[];
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const labels = series.map((s) => s.label).join('|');

  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const width = Math.max(260, element.clientWidth - 16);
    plot.current = new uPlot(
      {
        width,
        height: 180,
        series: [
          {},
          ...series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 2,
            spanGaps: true,
            // A series with values in few minutes (latency: none where nothing was answered) shows
            // its points, or a lone minute would draw nothing.
            points: { show: s.points ?? false, size: 6, fill: s.color },
          })),
        ],
        axes: [{}, { label: unit, size: 60 }],
        legend: { show: true },
      },
      [[], ...series.map(() => [])],
      element,
    );
    const resize = new ResizeObserver(() =>
      plot.current?.setSize({ width: Math.max(260, element.clientWidth - 16), height: 180 }),
    );
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
    // The chart is rebuilt only when its series change; data flows through setData below.
  }, [labels, unit]);

  useEffect(() => {
    plot.current?.setData([times, ...series.map((s) => s.values)] as uPlot.AlignedData);
  }, [times, series]);

  // The newest value of each series in words: the canvas itself says nothing to a screen reader.
  const latest = series
    .map((s) => {
      const value = [...s.values].reverse().find((v) => v !== null);
      return value === undefined || value === null
        ? undefined
        : `${s.label} ${value.toFixed(value < 10 ? 2 : 1)} ${unit}`;
    })
    .filter(Boolean)
    .join(', ');
  return (
    <figure className="chart">
      <figcaption>
        {title}: <span data-testid={`latest-${title}`}>{latest || 'no data yet'}</span>
      </figcaption>
      <div ref={box} role="img" aria-label={`${title} over time; now ${latest || 'no data yet'}`} />
    </figure>
  );
}
