'use client';
import { useState, type FormEvent } from 'react';
import { Confirm } from '@/components/confirm';
import { PagedTable } from '@/components/data-table';
import { DataState, ErrorBox } from '@/components/states';
import { api, type Page, query, type Role } from '@/lib/api';
import { useSession } from '@/lib/auth';
import { formatDate } from '@/lib/format';
import { useData } from '@/lib/use-data';

interface User {
  id: string;
  username: string;
  role: Role;
  createdAt: string;
  updatedAt: string;
}

const ROLES: Role[] = ['viewer', 'predictor', 'maintainer', 'admin'];

export default function UsersPage() {
  const { me } = useSession();
  const [skip, setSkip] = useState(0);
  const [changed, setChanged] = useState(0);
  const [removing, setRemoving] = useState<User>();
  const [error, setError] = useState<Error>();
  const users = useData(() => api<Page<User>>(`/api/v1/auth/users${query({ skip, limit: 20 })}`), `${skip}|${changed}`);

  async function run(action: () => Promise<unknown>) {
    setError(undefined);
    try {
      await action();
      setChanged((n) => n + 1);
    } catch (reason) {
      setError(reason as Error);
    }
  }

  function create(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    void run(async () => {
      await api('/api/v1/auth/users', {
        method: 'POST',
        body: {
          username: String(data.get('username')).trim(),
          password: String(data.get('password')),
          role: String(data.get('role')),
        },
      });
      form.reset();
    });
  }

  return (
    <>
      <h1>Users</h1>
      {error && <ErrorBox error={error} />}
      <DataState what="users" {...users} isEmpty={(p) => p.items.length === 0} empty="No users yet: API keys only.">
        {(page) => (
          <PagedTable
            label="Users"
            page={page}
            onSkip={setSkip}
            rowKey={(user) => user.id}
            columns={[
              { header: 'Username', cell: (user) => user.username },
              {
                header: 'Role',
                cell: (user) => (
                  <select
                    aria-label={`Role of ${user.username}`}
                    value={user.role}
                    disabled={user.username === me?.name}
                    onChange={(e) =>
                      void run(() =>
                        api(`/api/v1/auth/users/${encodeURIComponent(user.username)}`, {
                          method: 'PATCH',
                          body: { role: e.target.value },
                        }),
                      )
                    }
                  >
                    {ROLES.map((role) => (
                      <option key={role}>{role}</option>
                    ))}
                  </select>
                ),
              },
              { header: 'Created', cell: (user) => formatDate(user.createdAt) },
              { header: 'Updated', cell: (user) => formatDate(user.updatedAt) },
              {
                header: 'Actions',
                cell: (user) =>
                  user.username !== me?.name && (
                    <button
                      type="button"
                      className="danger"
                      onClick={() => setRemoving(user)}
                      aria-label={`Delete user ${user.username}`}
                    >
                      Delete
                    </button>
                  ),
              },
            ]}
          />
        )}
      </DataState>
      <form className="stack" onSubmit={create} aria-label="Create a user">
        <h2>Create a user</h2>
        <div className="row">
          <label>
            Username
            <input name="username" required autoComplete="off" />
          </label>
          <label>
            Password
            <input name="password" type="password" required autoComplete="new-password" />
          </label>
          <label>
            Role
            <select name="role" defaultValue="viewer">
              {ROLES.map((role) => (
                <option key={role}>{role}</option>
              ))}
            </select>
          </label>
        </div>
        <div>
          <button type="submit" className="primary">
            Create user
          </button>
        </div>
      </form>
      <Confirm
        open={removing !== undefined}
        title="Delete user"
        confirmLabel="Delete"
        danger
        onConfirm={() => {
          const user = removing;
          setRemoving(undefined);
          if (user)
            void run(() => api(`/api/v1/auth/users/${encodeURIComponent(user.username)}`, { method: 'DELETE' }));
        }}
        onCancel={() => setRemoving(undefined)}
      >
        <p>Delete user {removing?.username}? Their sessions end at once.</p>
      </Confirm>
    </>
  );
}
