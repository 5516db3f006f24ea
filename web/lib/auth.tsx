'use client';
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from 'react';
import { api, ApiError, errorOf, type Me, refreshSession, setCredential } from './api';

interface Session {
  /** undefined while the page checks for a session (the refresh cookie), null when logged out. */
  me: Me | null | undefined;
  loginWithPassword(username: string, password: string): Promise<void>;
  loginWithKey(key: string): Promise<void>;
  logout(): Promise<void>;
}

const SessionContext = createContext<Session | undefined>(undefined);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside SessionProvider');
  return session;
}

/**
 * Set while a password login may have left a refresh cookie (which no script can read): a page
 * load tries the refresh only then, so a logged-out visit sends no request that must fail.
 * It holds no secret.
 */
const SESSION_HINT = 'mf_session';

/** The caller behind the current credential, or the error that says why there is none. */
async function whoAmI(): Promise<Me> {
  return api<Me>('/api/v1/auth/me');
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<Me | null | undefined>(undefined);

  // A reload keeps a user logged in through the refresh cookie; an API key must be typed again.
  useEffect(() => {
    let live = true;
    void (async () => {
      const hinted = localStorage.getItem(SESSION_HINT) === '1';
      const restored = hinted && (await refreshSession()) ? await whoAmI().catch(() => null) : null;
      if (!restored) localStorage.removeItem(SESSION_HINT);
      if (live) setMe(restored);
    })();
    return () => {
      live = false;
    };
  }, []);

  const loginWithPassword = useCallback(async (username: string, password: string) => {
    const res = await fetch('/api/v1/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username, password }),
      credentials: 'same-origin',
    });
    if (!res.ok) throw await errorOf(res);
    const body = (await res.json()) as { accessToken: string };
    setCredential({ kind: 'token', value: body.accessToken });
    localStorage.setItem(SESSION_HINT, '1');
    setMe(await whoAmI());
  }, []);

  const loginWithKey = useCallback(async (key: string) => {
    setCredential({ kind: 'key', value: key });
    try {
      setMe(await whoAmI());
    } catch (error) {
      setCredential(undefined);
      throw error instanceof ApiError && error.status === 401 ? new ApiError(401, 'That API key is not valid') : error;
    }
  }, []);

  const logout = useCallback(async () => {
    await fetch('/api/v1/auth/logout', { method: 'POST', credentials: 'same-origin' }).catch(() => undefined);
    localStorage.removeItem(SESSION_HINT);
    setCredential(undefined);
    setMe(null);
  }, []);

  return (
    <SessionContext.Provider value={{ me, loginWithPassword, loginWithKey, logout }}>
      {children}
    </SessionContext.Provider>
  );
}
