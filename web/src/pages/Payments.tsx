import { Button, Group, Select, Stack, TextInput, Title } from '@mantine/core';
import type { ColumnDef } from '@tanstack/react-table';
import { useState } from 'react';
import { useNavigate } from 'react-router';
import { money, StatusBadge, when } from '../components/Bits';
import { DataTable } from '../components/DataTable';

export interface PaymentRow {
  id?: string;
  payment_order_id: string;
  checkout_id: string;
  seller_account: string;
  amount: string;
  currency: string;
  status: string;
  amount_refunded?: string;
  created_at: string;
}

const columns: ColumnDef<PaymentRow, unknown>[] = [
  { header: 'Payment order', accessorKey: 'payment_order_id' },
  { header: 'Checkout', accessorKey: 'checkout_id' },
  { header: 'Seller', accessorKey: 'seller_account' },
  { header: 'Amount', cell: ({ row }) => money(row.original.amount, row.original.currency) },
  { header: 'Status', cell: ({ row }) => <StatusBadge status={row.original.status} /> },
  { header: 'Created', cell: ({ row }) => when(row.original.created_at) },
];

const STATUSES = ['NOT_STARTED', 'EXECUTING', 'PENDING', 'SUCCESS', 'FAILED'];

export function PaymentsPage() {
  const navigate = useNavigate();
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
  const search = () => {
    const order = draft.payment_order_id?.trim();
    if (order) {
      navigate(`/payments/${encodeURIComponent(order)}`);
      return;
    }
    const { from, to, ...rest } = draft;
    setFilters({
      ...rest,
      ...(from ? { 'created[gte]': `${from}T00:00:00Z` } : {}),
      ...(to ? { 'created[lt]': `${to}T00:00:00Z` } : {}),
    });
  };
  return (
    <Stack>
      <Title order={2}>Payments</Title>
      <Group
        align="end"
        gap="xs"
        component="form"
        onSubmit={(e) => {
          e.preventDefault();
          search();
        }}
      >
        {field('payment_order_id', 'Payment order')}
        {field('checkout_id', 'Checkout')}
        {field('buyer_id', 'Buyer')}
        {field('seller_account', 'Seller')}
        <Select
          label="Status"
          size="xs"
          clearable
          data={STATUSES}
          value={draft.status ?? null}
          onChange={(value) => setDraft({ ...draft, status: value ?? '' })}
        />
        <TextInput
          label="From (UTC date)"
          size="xs"
          type="date"
          value={draft.from ?? ''}
          onChange={(e) => setDraft({ ...draft, from: e.currentTarget.value })}
        />
        <TextInput
          label="To (UTC date)"
          size="xs"
          type="date"
          value={draft.to ?? ''}
          onChange={(e) => setDraft({ ...draft, to: e.currentTarget.value })}
        />
        <Button size="xs" type="submit">
          Search
        </Button>
      </Group>
      <DataTable<PaymentRow>
        label="Payments"
        path="/v1/payments"
        query={filters}
        columns={columns}
        rowId={(row) => row.payment_order_id}
        onRowClick={(row) => navigate(`/payments/${encodeURIComponent(row.payment_order_id)}`)}
        empty="No payments match."
      />
    </Stack>
  );
}
