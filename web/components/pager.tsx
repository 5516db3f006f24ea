'use client';

export function Pager({
  skip,
  limit,
  total,
  onChange,
}: {
  skip: number;
  limit: number;
  total: number;
  onChange: (skip: number) => void;
}) {
  if (total <= limit && skip === 0) return null;
  const last = Math.min(skip + limit, total);
  return (
    <nav className="pager" aria-label="Pages">
      <button type="button" disabled={skip === 0} onClick={() => onChange(Math.max(0, skip - limit))}>
        Previous
      </button>
      <span>
        {total === 0 ? 0 : skip + 1}–{last} of {total}
      </span>
      <button type="button" disabled={last >= total} onClick={() => onChange(skip + limit)}>
        Next
      </button>
    </nav>
  );
}
