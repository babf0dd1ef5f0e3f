import {
  Alert,
  Badge,
  Button,
  Checkbox,
  Code,
  Group,
  Select,
  Stack,
  Table,
  Tabs,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useState } from 'react';
import { ApiError, post, type List } from '../api';
import { Loaded, when } from '../components/Bits';
import { useResource } from '../hooks';
import { useOperator } from '../session';

interface OperatorRow {
  id: string;
  email: string;
  role: string;
  created_at: string;
  disabled: boolean;
}

interface KeyRow {
  id: string;
  name: string;
  hint: string;
  scopes: string[];
  created_at: string;
  revoked_at: string | null;
}

const SCOPES = ['payments:read', 'payments:write', 'ops'];

function errorText(caught: unknown): string {
  return caught instanceof ApiError ? `${caught.code}: ${caught.message}` : String(caught);
}

/** Runs `work`, keeping its error for the page; returns its answer or undefined. */
function useAction() {
  const [error, setError] = useState<string | undefined>(undefined);
  const run = async <T,>(work: () => Promise<T>): Promise<T | undefined> => {
    setError(undefined);
    try {
      return await work();
    } catch (caught) {
      setError(errorText(caught));
      return undefined;
    }
  };
  return { error, run };
}

function Operators() {
  const me = useOperator();
  const list = useResource<List<OperatorRow>>('/dashboard/api/operators');
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<string | null>('viewer');
  const [shown, setShown] = useState<string | undefined>(undefined);
  const { error, run } = useAction();
  const create = async () => {
    const created = await run(() =>
      post<{ email: string; password: string }>('/dashboard/api/operators', { email, role }),
    );
    if (created) {
      setShown(`${created.email}: ${created.password}`);
      setEmail('');
      list.reload();
    }
  };
  const toggle = async (row: OperatorRow) => {
    if (await run(() => post(`/dashboard/api/operators/${row.id}/${row.disabled ? 'enable' : 'disable'}`)))
      list.reload();
  };
  return (
    <Stack>
      <Group align="end" gap="xs">
        <TextInput
          label="New operator's email"
          size="xs"
          value={email}
          onChange={(e) => setEmail(e.currentTarget.value)}
        />
        <Select
          label="Role"
          size="xs"
          data={['viewer', 'operator', 'admin']}
          value={role}
          onChange={setRole}
        />
        <Button size="xs" onClick={create} disabled={email.trim() === ''}>
          Create operator
        </Button>
      </Group>
      {shown && (
        <Alert color="yellow" title="Password, shown once">
          <Code>{shown}</Code>
        </Alert>
      )}
      {error && (
        <Alert color="red" role="alert">
          {error}
        </Alert>
      )}
      <Loaded resource={list}>
        {(data) => (
          <Table.ScrollContainer minWidth={560}>
            <Table striped aria-label="Operators">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Email</Table.Th>
                  <Table.Th>Role</Table.Th>
                  <Table.Th>Created</Table.Th>
                  <Table.Th />
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {data.data.map((row) => (
                  <Table.Tr key={row.id} data-row-id={row.id}>
                    <Table.Td>
                      {row.email} {row.disabled && <Badge color="gray">disabled</Badge>}
                    </Table.Td>
                    <Table.Td>{row.role}</Table.Td>
                    <Table.Td>{when(row.created_at)}</Table.Td>
                    <Table.Td>
                      <Button
                        size="xs"
                        variant="default"
                        disabled={row.id === me?.id}
                        onClick={() => toggle(row)}
                      >
                        {row.disabled ? 'Enable' : 'Disable'}
                      </Button>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </Loaded>
    </Stack>
  );
}

function ApiKeys() {
  const list = useResource<List<KeyRow>>('/dashboard/api/api_keys');
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<string[]>(['payments:read']);
  const [shown, setShown] = useState<string | undefined>(undefined);
  const { error, run } = useAction();
  const create = async () => {
    const created = await run(() =>
      post<{ id: string; secret: string }>('/dashboard/api/api_keys', { name, scopes }),
    );
    if (created) {
      setShown(`${created.id}: ${created.secret}`);
      setName('');
      list.reload();
    }
  };
  const revoke = async (row: KeyRow) => {
    if (await run(() => post(`/dashboard/api/api_keys/${row.id}/revoke`))) list.reload();
  };
  return (
    <Stack>
      <Group align="end" gap="xs">
        <TextInput
          label="New key's name"
          size="xs"
          value={name}
          onChange={(e) => setName(e.currentTarget.value)}
        />
        <Checkbox.Group label="Scopes" value={scopes} onChange={setScopes}>
          <Group gap="xs" mt={4}>
            {SCOPES.map((scope) => (
              <Checkbox key={scope} value={scope} label={scope} size="xs" />
            ))}
          </Group>
        </Checkbox.Group>
        <Button size="xs" onClick={create} disabled={name.trim() === '' || scopes.length === 0}>
          Create key
        </Button>
      </Group>
      {shown && (
        <Alert color="yellow" title="Secret, shown once">
          <Code>{shown}</Code>
        </Alert>
      )}
      {error && (
        <Alert color="red" role="alert">
          {error}
        </Alert>
      )}
      <Loaded resource={list}>
        {(data) => (
          <Table.ScrollContainer minWidth={560}>
            <Table striped aria-label="API keys">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Key</Table.Th>
                  <Table.Th>Name</Table.Th>
                  <Table.Th>Scopes</Table.Th>
                  <Table.Th>Created</Table.Th>
                  <Table.Th />
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {data.data.map((row) => (
                  <Table.Tr key={row.id} data-row-id={row.id}>
                    <Table.Td>
                      {row.id} …{row.hint}
                    </Table.Td>
                    <Table.Td>{row.name}</Table.Td>
                    <Table.Td>{row.scopes.join(', ')}</Table.Td>
                    <Table.Td>{when(row.created_at)}</Table.Td>
                    <Table.Td>
                      {row.revoked_at ? (
                        <Badge color="gray">revoked {when(row.revoked_at)}</Badge>
                      ) : (
                        <Button size="xs" color="red" variant="light" onClick={() => revoke(row)}>
                          Revoke
                        </Button>
                      )}
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </Loaded>
    </Stack>
  );
}

/** Admins only (the routes refuse everyone else): operators and API keys. */
export function AdminPage() {
  const me = useOperator();
  if (me?.role !== 'admin') return <Text>Only admins manage operators and API keys.</Text>;
  return (
    <Stack>
      <Title order={2}>Administration</Title>
      <Tabs defaultValue="operators">
        <Tabs.List>
          <Tabs.Tab value="operators">Operators</Tabs.Tab>
          <Tabs.Tab value="keys">API keys</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="operators" pt="sm">
          <Operators />
        </Tabs.Panel>
        <Tabs.Panel value="keys" pt="sm">
          <ApiKeys />
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}
