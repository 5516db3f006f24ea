'use client';
import { useSearchParams } from 'next/navigation';

/** A query string parameter (pages name their resource there: /ui/model/?name=iris). */
export function useQueryParam(name: string): string {
  return useSearchParams().get(name) ?? '';
}
