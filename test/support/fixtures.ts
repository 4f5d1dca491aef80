import { call } from './http.ts';
import type { TestServer } from './server.ts';

/** A sender and a project made through the API with the admin token. */
export async function createProject(server: TestServer, name = 'Project'): Promise<{ senderId: number; projectId: number }> {
  const sender = await call(server.apiUrl, 'POST', '/senders', { token: server.adminToken, body: { name: `${name} sender` } });
  const project = await call(server.apiUrl, 'POST', '/projects', {
    token: server.adminToken,
    body: { sender_id: sender.body.id, name, website: 'https://example.com' },
  });
  if (project.status !== 201) throw new Error(`project not created: ${JSON.stringify(project.body)}`);
  return { senderId: sender.body.id, projectId: project.body.id };
}

/** A token limited to the given projects, minted through the admin API. */
export async function scopedToken(server: TestServer, projectIds: number[]): Promise<string> {
  const res = await call(server.apiUrl, 'POST', '/access_tokens', {
    token: server.adminToken,
    body: { name: 'scoped', project_ids: projectIds },
  });
  if (res.status !== 201) throw new Error(`token not created: ${JSON.stringify(res.body)}`);
  return res.body.token;
}
