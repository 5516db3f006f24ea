'use client';
import type { ReactNode } from 'react';
import type { Page } from '@/lib/api';
import { Pager } from '@/components/pager';

export interface Column<T> {
  header: ReactNode;
  cell: (row: T) => ReactNode;
  className?: string;
  /** A tooltip for the cell, e.g. the full value of a shortened one. */
  title?: (row: T) => string;
}

export interface DataTableProps<T> {
  /** The accessible name of the scrolling region around the table. */
  label: string;
  columns: Column<T>[];
  rowKey: (row: T) => string | number;
  /** Extra attributes on each row (the data-* the browser tests find rows by). */
  rowProps?: (row: T) => Record<string, string>;
  /** data-testid of the table itself. */
  testId?: string;
  /** A caption hidden from sight, for screen readers. */
  caption?: string;
}

/**
 * One table of the dashboard: a focusable, labelled scrolling region (so keyboard users can scroll wide tables)
 * holding a table with column headers, a row per item.
 */
export function DataTable<T>({
  label,
  rows,
  columns,
  rowKey,
  rowProps,
  testId,
  caption,
}: DataTableProps<T> & { rows: T[] }) {
  return (
    <div className="table-wrap" tabIndex={0} role="region" aria-label={label}>
      <table data-testid={testId}>
        {caption !== undefined && <caption className="skip">{caption}</caption>}
        <thead>
          <tr>
            {columns.map((column, index) => (
              <th key={index} scope="col">
                {column.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={rowKey(row)} {...rowProps?.(row)}>
              {columns.map((column, index) => (
                <td key={index} className={column.className} title={column.title?.(row)}>
                  {column.cell(row)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** A page of a listing as a table, with the pager under it. */
export function PagedTable<T>({
  page,
  onSkip,
  ...table
}: DataTableProps<T> & { page: Page<T>; onSkip: (skip: number) => void }) {
  return (
    <>
      <DataTable {...table} rows={page.items} />
      <Pager skip={page.skip} limit={page.limit} total={page.total} onChange={onSkip} />
    </>
  );
}
