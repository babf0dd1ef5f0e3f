import { Button, Group, Stack, TextInput, Title } from '@mantine/core';
import type { ColumnDef } from '@tanstack/react-table';
import { useState } from 'react';
import { Json, when } from '../components/Bits';
import { DataTable } from '../components/DataTable';

interface AuditRow {
  id: string;
  at: string;
  actor: string;
  action: string;
  target_type: string;
  target_id: string;
  before: unknown;
  after: unknown;
}

const columns: ColumnDef<AuditRow, unknown>[] = [
  { header: 'When', cell: ({ row }) => when(row.original.at) },
  { header: 'Who', accessorKey: 'actor' },
  { header: 'What', accessorKey: 'action' },
  { header: 'Target', cell: ({ row }) => `${row.original.target_type} ${row.original.target_id}` },
  {
    header: 'Before',
    cell: ({ row }) => (row.original.before === null ? '' : <Json value={row.original.before} />),
  },
  {
    header: 'After',
    cell: ({ row }) => (row.original.after === null ? '' : <Json value={row.original.after} />),
  },
];

export function AuditPage() {
  const [draft, setDraft] = useState<Record<string, string>>({});
  const [filters, setFilters] = useState<Record<string, string>>({});
  const field = (name: string, label: string) => (
    <TextInput
      label={label}
      size="xs"
      value={draft[name] ?? ''}
      onChange={(e) => setDraft({ ...draft, [name]: e.currentTarget.value })}
    />
  );
  return (
    <Stack>
      <Title order={2}>Audit log</Title>
      <Group
        align="end"
        gap="xs"
        component="form"
        onSubmit={(e) => {
          e.preventDefault();
          setFilters(draft);
        }}
      >
        {field('actor', 'Who (op_…)')}
        {field('action', 'What')}
        {field('target_type', 'Target type')}
        {field('target_id', 'Target id')}
        <Button size="xs" type="submit">
          Filter
        </Button>
      </Group>
      <DataTable<AuditRow> label="Audit log" path="/dashboard/api/audit" query={filters} columns={columns} />
    </Stack>
  );
}
