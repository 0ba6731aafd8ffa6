import type { AccessDto } from '../../api/presenters.ts';
import type { Subject } from '../../domain/index.ts';
import { html, seg, type SafeHtml } from '../html.ts';
import { actionButton, apiForm, field, select, subjectLabel, tenantApi } from './components.ts';

/** Which grant changes the user may make (from the permissions the API computed). */
export interface AccessRights {
  /** Grant/revoke the users and endpoint-users roles. */
  grant: boolean;
  revoke: boolean;
  /** Grant/revoke the admins role (needs `patch` on the tenant itself). */
  manageAdmins: boolean;
}

type Role = 'admins' | 'users' | 'endpointUsers';
const roleText: Record<Role, string> = {
  admins: 'Admins',
  users: 'Users (every endpoint)',
  endpointUsers: 'Users of one endpoint',
};

/** Who administers and uses the tenant, with grant and revoke where the user may change them. */
export function accessPage(input: {
  access: AccessDto;
  rights: AccessRights;
  endpoints: string[];
}): SafeHtml {
  const { access, rights } = input;
  const canRevoke = (role: Role) => (role === 'admins' ? rights.manageAdmins : rights.revoke);
  const rows = (role: Role, subjects: Subject[], endpoint?: string) =>
    subjects.map(
      (s) =>
        html`<tr>
          <td>${roleText[role]}${endpoint ? html` <code>${endpoint}</code>` : ''}</td>
          <th scope="row">${subjectLabel(s)}</th>
          <td>${s.kind}</td>
          <td>${canRevoke(role) ? revokeButton(access.tenant, role, s, endpoint) : ''}</td>
        </tr>`,
    );
  const all = [
    ...rows('admins', access.admins),
    ...rows('users', access.users),
    ...access.endpointUsers.flatMap((g) => rows('endpointUsers', g.subjects, g.endpoint)),
  ];
  const roles = (
    [
      ['admins', rights.manageAdmins],
      ['users', rights.grant],
      ['endpointUsers', rights.grant && input.endpoints.length > 0],
    ] as const
  ).filter(([, allowed]) => allowed);
  return html`<table class="list">
      <caption>
        Who may administer and use ${access.tenant}
      </caption>
      <thead>
        <tr>
          <th scope="col">Role</th>
          <th scope="col">Who</th>
          <th scope="col">Kind</th>
          <th scope="col"><span class="visually-hidden">Actions</span></th>
        </tr>
      </thead>
      <tbody>
        ${
          all.length
            ? all
            : html`<tr>
                <td colspan="4" class="empty">No grants yet.</td>
              </tr>`
        }
      </tbody>
    </table>
    <p class="muted">
      Members of the group <code>${access.tenant}-users</code> are users of every endpoint as well.
    </p>
    ${
      roles.length
        ? grantForm(
            access.tenant,
            roles.map(([role]) => role),
            input.endpoints,
          )
        : ''
    }`;
}

function revokeButton(tenant: string, role: Role, subject: Subject, endpoint?: string): SafeHtml {
  const query = new URLSearchParams();
  if (subject.namespace) query.set('namespace', subject.namespace);
  if (endpoint) query.set('endpoint', endpoint);
  const path = tenantApi(tenant, `/access/${role}/${seg(subject.kind)}/${seg(subject.name)}`);
  return actionButton(
    {
      api: `DELETE ${path}${query.size ? `?${query.toString()}` : ''}`,
      success: 'reload',
      label: `Revoke ${roleText[role]} from ${subjectLabel(subject)}`,
      confirm: `Revoke ${roleText[role].toLowerCase()} from ${subjectLabel(subject)}?`,
    },
    'Revoke',
  );
}

function grantForm(tenant: string, roles: Role[], endpoints: string[]): SafeHtml {
  return html`<section aria-labelledby="grant">
    <h2 id="grant">Grant access</h2>
    ${apiForm(
      { api: `POST ${tenantApi(tenant, '/access')}`, success: 'reload', label: 'Grant access' },
      html`<div class="grid">
        ${select({ label: 'Role', name: '/role', options: roles.map((r) => ({ value: r, text: roleText[r] })) })}
        ${select({ label: 'Kind', name: '/subject/kind', options: ['Group', 'User', 'ServiceAccount'].map((k) => ({ value: k, text: k })) })}
        ${field({ label: 'Name', name: '/subject/name', required: true, hint: 'A group or user name as the identity provider sends it, or a ServiceAccount name. system:authenticated means every signed-in user.' })}
        ${field({ label: 'Namespace (ServiceAccounts only)', name: '/subject/namespace' })}
        ${endpoints.length ? select({ label: 'Endpoint (users of one endpoint only)', name: '/endpoint', options: [{ value: '', text: '—' }, ...endpoints.map((e) => ({ value: e, text: e }))] }) : ''}
      </div>`,
      'Grant',
    )}
  </section>`;
}
