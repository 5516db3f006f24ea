'use client';
import type { InputHTMLAttributes, ReactNode } from 'react';

/** The filter bar above a listing: a search landmark that never submits (every field applies as it changes). */
export function Filters({ children }: { children: ReactNode }) {
  return (
    <form className="row" role="search" onSubmit={(event) => event.preventDefault()}>
      {children}
    </form>
  );
}

/** A text (or number, search) filter with its label; `onChange` gets the new value. */
export function FilterInput({
  label,
  value,
  onChange,
  ...input
}: { label: string; value: string; onChange: (value: string) => void } & Omit<
  InputHTMLAttributes<HTMLInputElement>,
  'value' | 'onChange'
>) {
  return (
    <label>
      {label}
      <input {...input} value={value} onChange={(event) => onChange(event.target.value)} />
    </label>
  );
}

/** A choice filter: "any" (the empty value) first, then the given options. */
export function FilterSelect({
  label,
  value,
  options,
  onChange,
}: {
  label: string;
  value: string;
  options: readonly string[];
  onChange: (value: string) => void;
}) {
  return (
    <label>
      {label}
      <select value={value} onChange={(event) => onChange(event.target.value)}>
        <option value="">any</option>
        {options.map((option) => (
          <option key={option}>{option}</option>
        ))}
      </select>
    </label>
  );
}
