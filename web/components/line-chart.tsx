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
  series: { label: string; values: (number | null)[]; color: string }[];
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
        series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, spanGaps: true }))],
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

  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} role="img" aria-label={`${title} chart`} />
    </figure>
  );
}
