import {
  Alert,
  Button,
  Card,
  Checkbox,
  Group,
  Select,
  Stack,
  Table,
  Tabs,
  Text,
  Textarea,
  Timeline,
  Title,
} from '@mantine/core';
import type { ColumnDef } from '@tanstack/react-table';
import { useState } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { ApiError, post } from '../api';
import { Json, Loaded, money, StatusBadge, when } from '../components/Bits';
import { DataTable } from '../components/DataTable';
import { useResource } from '../hooks';
import { useCan } from '../session';

interface ExceptionRow {
  id: string;
  class: string;
  kind: string;
  status: string;
  cause: string;
  amount: string | null;
  currency: string | null;
  evidence: Record<string, unknown>;
  created_at: string;
  history?: { at: string; action: string; actor: string; note: string | null }[];
}

interface ExceptionList {
  data: ExceptionRow[];
  has_more: boolean;
  next_cursor?: string | null;
}

interface RunRow {
  id: string;
  kind: string;
  status: string;
  trigger: string;
  started_at: string;
  finished_at: string | null;
}

const runColumns: ColumnDef<RunRow, unknown>[] = [
  { header: 'Run', accessorKey: 'id' },
  { header: 'Kind', accessorKey: 'kind' },
  { header: 'Status', cell: ({ row }) => <StatusBadge status={row.original.status} /> },
  { header: 'Trigger', accessorKey: 'trigger' },
  { header: 'Started', cell: ({ row }) => when(row.original.started_at) },
];

function BulkResolve({ selected, onDone }: { selected: ExceptionRow[]; onDone: () => void }) {
  const can = useCan('operator');
  const [note, setNote] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const run = async () => {
    setBusy(true);
    setError(undefined);
    try {
      for (const row of selected) await post(`/v1/reconciliation/exceptions/${row.id}/resolve`, { note });
      setNote('');
      onDone();
    } catch (caught) {
      setError(caught instanceof ApiError ? `${caught.code}: ${caught.message}` : String(caught));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Group align="end" gap="xs">
      <Textarea
        label="Note for the selected exceptions"
        size="xs"
        autosize
        minRows={1}
        w={360}
        value={note}
        onChange={(e) => setNote(e.currentTarget.value)}
      />
      <Button
        size="xs"
        disabled={!can || selected.length === 0 || note.trim() === ''}
        loading={busy}
        onClick={run}
      >
        Resolve {selected.length} selected
      </Button>
      {error && <Alert color="red">{error}</Alert>}
    </Group>
  );
}

function Exceptions() {
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const status = params.get('status') ?? 'open';
  const cls = params.get('class') ?? undefined;
  const runId = params.get('run_id') ?? undefined;
  const [cursor, setCursor] = useState<string | undefined>(undefined);
  const list = useResource<ExceptionList>('/v1/reconciliation/exceptions', {
    status,
    class: cls,
    run_id: runId,
    cursor,
    limit: 50,
  });
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const rows = list.data?.data ?? [];
  const toggle = (id: string) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };
  const set = (key: string, value: string | null) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    setParams(next);
    setCursor(undefined);
    setSelected(new Set());
  };
  return (
    <Stack>
      <Group gap="xs">
        <Select
          label="Status"
          size="xs"
          data={['open', 'fixed', 'resolved']}
          value={status}
          onChange={(v) => set('status', v)}
        />
        <Select
          label="Class"
          size="xs"
          clearable
          data={['finance', 'investigation', 'auto_fixed']}
          value={cls ?? null}
          onChange={(v) => set('class', v)}
        />
        <Button size="xs" variant="default" onClick={() => setSelected(new Set(rows.map((r) => r.id)))}>
          Select all shown
        </Button>
      </Group>
      <BulkResolve
        selected={rows.filter((r) => selected.has(r.id))}
        onDone={() => {
          setSelected(new Set());
          list.reload();
        }}
      />
      <Table striped highlightOnHover aria-label="Exceptions">
        <Table.Thead>
          <Table.Tr>
            <Table.Th />
            <Table.Th>Exception</Table.Th>
            <Table.Th>Class</Table.Th>
            <Table.Th>Kind</Table.Th>
            <Table.Th>Amount</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Created</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {rows.map((row) => (
            <Table.Tr key={row.id} data-row-id={row.id}>
              <Table.Td>
                <Checkbox
                  aria-label={`select ${row.id}`}
                  checked={selected.has(row.id)}
                  onChange={() => toggle(row.id)}
                />
              </Table.Td>
              <Table.Td
                style={{ cursor: 'pointer' }}
                onClick={() => navigate(`/reconciliation/exceptions/${row.id}`)}
              >
                {row.id}
              </Table.Td>
              <Table.Td>{row.class}</Table.Td>
              <Table.Td>{row.kind}</Table.Td>
              <Table.Td>{row.amount === null ? '' : money(row.amount, row.currency ?? '')}</Table.Td>
              <Table.Td>
                <StatusBadge status={row.status} />
              </Table.Td>
              <Table.Td>{when(row.created_at)}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {rows.length === 0 && !list.loading && <Text c="dimmed">No exceptions.</Text>}
      <Group>
        <Button
          size="xs"
          variant="default"
          disabled={cursor === undefined}
          onClick={() => setCursor(undefined)}
        >
          First page
        </Button>
        <Button
          size="xs"
          variant="default"
          disabled={!list.data?.next_cursor}
          onClick={() => setCursor(list.data?.next_cursor ?? undefined)}
        >
          Next page
        </Button>
      </Group>
    </Stack>
  );
}

export function ReconciliationPage() {
  const navigate = useNavigate();
  return (
    <Stack>
      <Title order={2}>Reconciliation</Title>
      <Tabs defaultValue="exceptions">
        <Tabs.List>
          <Tabs.Tab value="exceptions">Exceptions</Tabs.Tab>
          <Tabs.Tab value="runs">Runs</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="exceptions" pt="sm">
          <Exceptions />
        </Tabs.Panel>
        <Tabs.Panel value="runs" pt="sm">
          <DataTable<RunRow>
            label="Reconciliation runs"
            path="/v1/reconciliation/runs"
            columns={runColumns}
            onRowClick={(row) => navigate(`/reconciliation/runs/${row.id}`)}
          />
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}

export function ExceptionPage() {
  const { id = '' } = useParams();
  const can = useCan('operator');
  const exception = useResource<ExceptionRow>(`/v1/reconciliation/exceptions/${encodeURIComponent(id)}`);
  const [note, setNote] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const act = async (action: 'resolve' | 'reopen') => {
    setError(undefined);
    try {
      await post(
        `/v1/reconciliation/exceptions/${encodeURIComponent(id)}/${action}`,
        note.trim() ? { note: note.trim() } : {},
      );
      setNote('');
      exception.reload();
    } catch (caught) {
      setError(caught instanceof ApiError ? `${caught.code}: ${caught.message}` : String(caught));
    }
  };
  return (
    <Loaded resource={exception}>
      {(row) => (
        <Stack>
          <Title order={2}>Exception {row.id}</Title>
          <Group>
            <StatusBadge status={row.status} />
            <Text>
              {row.class} · {row.kind}
            </Text>
          </Group>
          <Text>{row.cause}</Text>
          <Card withBorder>
            <Title order={4} mb="xs">
              Evidence
            </Title>
            <Json value={row.evidence} />
          </Card>
          <Card withBorder>
            <Title order={4} mb="xs">
              History
            </Title>
            <Timeline bulletSize={12}>
              {(row.history ?? []).map((h, i) => (
                <Timeline.Item key={i} title={`${h.action} by ${h.actor}`}>
                  <Text size="sm" c="dimmed">
                    {when(h.at)} {h.note ?? ''}
                  </Text>
                </Timeline.Item>
              ))}
            </Timeline>
          </Card>
          <Textarea label="Note" value={note} onChange={(e) => setNote(e.currentTarget.value)} />
          {error && (
            <Alert color="red" role="alert">
              {error}
            </Alert>
          )}
          <Group>
            <Button
              disabled={!can || row.status !== 'open' || note.trim() === ''}
              onClick={() => act('resolve')}
            >
              Resolve
            </Button>
            <Button variant="default" disabled={!can || row.status === 'open'} onClick={() => act('reopen')}>
              Reopen
            </Button>
            <Link to="/audit">Audit log</Link>
          </Group>
        </Stack>
      )}
    </Loaded>
  );
}

export function RunPage() {
  const { id = '' } = useParams();
  const run = useResource<RunRow & { report: Record<string, unknown> | null; error: string | null }>(
    `/v1/reconciliation/runs/${encodeURIComponent(id)}`,
  );
  return (
    <Loaded resource={run}>
      {(row) => (
        <Stack>
          <Title order={2}>Reconciliation run {row.id}</Title>
          <Group>
            <StatusBadge status={row.status} />
            <Text>
              {row.kind} · {row.trigger} · {when(row.started_at)} → {when(row.finished_at)}
            </Text>
            <Link to={`/reconciliation?status=open&run_id=${encodeURIComponent(row.id)}`}>
              Its open exceptions
            </Link>
          </Group>
          {row.error && <Alert color="red">{row.error}</Alert>}
          <Card withBorder>
            <Title order={4} mb="xs">
              Report
            </Title>
            {row.report ? <Json value={row.report} /> : <Text c="dimmed">No report yet.</Text>}
          </Card>
        </Stack>
      )}
    </Loaded>
  );
}

/** Runs of one kind (the payouts page shows the bank-statement runs: the payout reconciliation report). */
export function RunsTable({ kind, label }: { kind?: string; label: string }) {
  const navigate = useNavigate();
  const runs = useResource<{ data: RunRow[] }>('/v1/reconciliation/runs', { limit: 100 });
  const rows = (runs.data?.data ?? []).filter((run) => kind === undefined || run.kind === kind);
  return (
    <Loaded resource={runs}>
      {() => (
        <Table.ScrollContainer minWidth={560}>
          <Table striped highlightOnHover aria-label={label}>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Run</Table.Th>
                <Table.Th>Kind</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>Started</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((run) => (
                <Table.Tr
                  key={run.id}
                  data-row-id={run.id}
                  style={{ cursor: 'pointer' }}
                  onClick={() => navigate(`/reconciliation/runs/${run.id}`)}
                >
                  <Table.Td>{run.id}</Table.Td>
                  <Table.Td>{run.kind}</Table.Td>
                  <Table.Td>
                    <StatusBadge status={run.status} />
                  </Table.Td>
                  <Table.Td>{when(run.started_at)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
          {rows.length === 0 && <Text c="dimmed">No runs among the latest 100.</Text>}
        </Table.ScrollContainer>
      )}
    </Loaded>
  );
}
