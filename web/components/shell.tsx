'use client';
import Link from 'next/link';
import { usePathname } from 'next/navigation';
import { useState, type FormEvent, type ReactNode } from 'react';
import { canWrite, isAdmin, type Role } from '@/lib/api';
import { SessionProvider, useSession } from '@/lib/auth';
import { ErrorBox, Loading } from './states';

interface NavItem {
  href: string;
  label: string;
  shows(role: Role): boolean;
}

const NAV: NavItem[] = [
  { href: '/', label: 'Overview', shows: () => true },
  { href: '/models/', label: 'Models', shows: () => true },
  { href: '/jobs/', label: 'Jobs', shows: () => true },
  { href: '/predictions/', label: 'Predictions', shows: canWrite },
  { href: '/keys/', label: 'Keys', shows: isAdmin },
  { href: '/users/', label: 'Users', shows: isAdmin },
  { href: '/audit/', label: 'Audit', shows: isAdmin },
];

function LoginForm() {
  const { loginWithPassword, loginWithKey } = useSession();
  const [mode, setMode] = useState<'password' | 'key'>('password');
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(undefined);
    try {
      if (mode === 'password') await loginWithPassword(String(form.get('username')), String(form.get('password')));
      else await loginWithKey(String(form.get('key')).trim());
    } catch (reason) {
      setError(reason as Error);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="login">
      <h1>ModelForge</h1>
      <form onSubmit={(event) => void submit(event)} aria-label="Log in">
        <fieldset className="tabs">
          <legend>Log in with</legend>
          <label>
            <input type="radio" name="mode" checked={mode === 'password'} onChange={() => setMode('password')} />{' '}
            Username and password
          </label>
          <label>
            <input type="radio" name="mode" checked={mode === 'key'} onChange={() => setMode('key')} /> API key
          </label>
        </fieldset>
        {mode === 'password' ? (
          <>
            <label>
              Username
              <input name="username" autoComplete="username" required />
            </label>
            <label>
              Password
              <input name="password" type="password" autoComplete="current-password" required />
            </label>
          </>
        ) : (
          <label>
            API key
            <input name="key" type="password" autoComplete="off" required />
          </label>
        )}
        {error && <ErrorBox error={error} />}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
      </form>
    </main>
  );
}

function Frame({ children }: { children: ReactNode }) {
  const { me, logout } = useSession();
  const pathname = usePathname();
  if (me === undefined) {
    return (
      <main>
        <Loading what="your session" />
      </main>
    );
  }
  if (me === null) return <LoginForm />;
  return (
    <>
      <a href="#main" className="skip">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">ModelForge</span>
        <nav aria-label="Main">
          <ul>
            {NAV.filter((item) => item.shows(me.role)).map((item) => (
              <li key={item.href}>
                <Link href={item.href} aria-current={pathname === item.href ? 'page' : undefined}>
                  {item.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <span className="who">
          <span data-testid="whoami">
            {me.name} ({me.role})
          </span>
          <button type="button" onClick={() => void logout()}>
            Log out
          </button>
        </span>
      </header>
      <main id="main">{children}</main>
    </>
  );
}

/** Every page: the session (or the login form), the navigation for the caller's role, the page. */
export function Shell({ children }: { children: ReactNode }) {
  return (
    <SessionProvider>
      <Frame>{children}</Frame>
    </SessionProvider>
  );
}
