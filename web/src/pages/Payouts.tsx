import { Anchor, Card, Stack, Tabs, Text, Title } from '@mantine/core';
import { RunsTable } from './Reconciliation';
import type { ColumnDef } from '@tanstack/react-table';
import { useNavigate, useParams } from 'react-router';
import { Json, Loaded, money, StatusBadge, when } from '../components/Bits';
import { DataTable } from '../components/DataTable';
import { useResource } from '../hooks';

interface PayoutRow {
  id: string;
  seller_account: string;
  amount: string;
  currency: string;
  status: string;
  created_at: string;
}

interface FileRow {
  id: string;
  created_at?: string;
  format?: string;
  payouts?: number;
  [key: string]: unknown;
}

const payoutColumns: ColumnDef<PayoutRow, unknown>[] = [
  { header: 'Payout', accessorKey: 'id' },
  { header: 'Seller', accessorKey: 'seller_account' },
  { header: 'Amount', cell: ({ row }) => money(row.original.amount, row.original.currency) },
  { header: 'Status', cell: ({ row }) => <StatusBadge status={row.original.status} /> },
  { header: 'Created', cell: ({ row }) => when(row.original.created_at) },
];

const fileColumns: ColumnDef<FileRow, unknown>[] = [
  { header: 'File', accessorKey: 'id' },
  { header: 'Format', cell: ({ row }) => String(row.original.format ?? '') },
  { header: 'Run date', cell: ({ row }) => String(row.original.run_date ?? '') },
  { header: 'Transfers', cell: ({ row }) => String(row.original.transactions ?? '') },
  {
    header: 'Total',
    cell: ({ row }) => money(String(row.original.control_sum ?? ''), String(row.original.currency ?? '')),
  },
  { header: 'Created', cell: ({ row }) => when(row.original.created_at) },
  {
    header: 'Download',
    cell: ({ row }) => (
      <Anchor
        href={`/v1/payout-files/${encodeURIComponent(row.original.id)}`}
        download
        onClick={(e) => e.stopPropagation()}
      >
        download
      </Anchor>
    ),
  },
];

export function PayoutsPage() {
  const navigate = useNavigate();
  return (
    <Stack>
      <Title order={2}>Payouts</Title>
      <Tabs defaultValue="payouts">
        <Tabs.List>
          <Tabs.Tab value="payouts">Payouts</Tabs.Tab>
          <Tabs.Tab value="files">Payout files</Tabs.Tab>
          <Tabs.Tab value="recon">Payout reconciliation</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="payouts" pt="sm">
          <DataTable<PayoutRow>
            label="Payouts"
            path="/v1/payouts"
            columns={payoutColumns}
            onRowClick={(row) => navigate(`/payouts/${row.id}`)}
          />
        </Tabs.Panel>
        <Tabs.Panel value="files" pt="sm">
          <DataTable<FileRow> label="Payout files" path="/v1/payout-files" columns={fileColumns} />
        </Tabs.Panel>
        <Tabs.Panel value="recon" pt="sm">
          <Text size="sm" c="dimmed" mb="xs">
            Bank-statement reconciliation runs: each report matches the statement&apos;s lines with the
            payouts.
          </Text>
          <RunsTable kind="bank" label="Payout reconciliation runs" />
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}

export function PayoutPage() {
  const { id = '' } = useParams();
  const payout = useResource<Record<string, unknown>>(`/v1/payouts/${encodeURIComponent(id)}`);
  const transactions = useResource<Record<string, unknown>>(
    `/v1/payouts/${encodeURIComponent(id)}/transactions`,
  );
  return (
    <Stack>
      <Title order={2}>Payout {id}</Title>
      <Card withBorder>
        <Loaded resource={payout}>{(data) => <Json value={data} />}</Loaded>
      </Card>
      <Card withBorder>
        <Title order={4} mb="xs">
          What makes up this payout
        </Title>
        <Loaded resource={transactions}>{(data) => <Json value={data} />}</Loaded>
      </Card>
    </Stack>
  );
}
