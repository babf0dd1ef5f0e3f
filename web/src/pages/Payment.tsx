import {
  Alert,
  Badge,
  Button,
  Card,
  Group,
  Modal,
  Stack,
  Table,
  Text,
  TextInput,
  Timeline,
  Title,
} from '@mantine/core';
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { ApiError, post, type List } from '../api';
import { Json, Loaded, money, StatusBadge, when } from '../components/Bits';
import { useResource } from '../hooks';
import { useCan } from '../session';

interface Order {
  payment_order_id: string;
  checkout_id: string;
  seller_account: string;
  amount: string;
  currency: string;
  status: string;
  status_reason: string | null;
  amount_refunded?: string;
  refunded?: boolean;
  status_history: { at: string; from: string | null; to: string; why: string | null }[];
}

interface Checkout {
  checkout_id: string;
  flow: string;
  risk?: { decision: string; reasons: string[] } | null;
  risk_decision?: { decision: string; reasons: string[] } | null;
}

interface TimelineData {
  psp_events: { id: string; type: string; received_at: string; outcome: string | null }[];
  ledger_entries: {
    id: string;
    kind: string;
    reference: string;
    description: string;
    created_at: string;
    postings: { account: string; direction: string; amount_minor: string; currency: string }[];
  }[];
}

interface Refund {
  id: string;
  amount: string;
  currency: string;
  status: string;
  source?: string;
  created_at?: string;
}

function RefundAction({ order, onDone }: { order: Order; onDone: () => void }) {
  const can = useCan('operator');
  const [open, setOpen] = useState(false);
  const [amount, setAmount] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await post('/v1/refunds', {
        payment_order_id: order.payment_order_id,
        ...(amount.trim() ? { amount: amount.trim() } : {}),
      });
      setOpen(false);
      setAmount('');
      onDone();
    } catch (caught) {
      setError(caught instanceof ApiError ? `${caught.code}: ${caught.message}` : String(caught));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <Button
        onClick={() => setOpen(true)}
        disabled={!can || order.status !== 'SUCCESS'}
        title={can ? undefined : 'Needs the operator role'}
      >
        Refund…
      </Button>
      <Modal opened={open} onClose={() => setOpen(false)} title={`Refund ${order.payment_order_id}`}>
        <Stack>
          <Text size="sm">
            Captured {money(order.amount, order.currency)}; refunded so far{' '}
            {money(order.amount_refunded ?? '0', order.currency)}. Leave the amount empty to refund what is
            left.
          </Text>
          <TextInput
            label={`Amount (${order.currency})`}
            placeholder="e.g. 10.00"
            value={amount}
            onChange={(e) => setAmount(e.currentTarget.value)}
          />
          {error && (
            <Alert color="red" role="alert">
              {error}
            </Alert>
          )}
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setOpen(false)}>
              Cancel
            </Button>
            <Button color="red" loading={busy} onClick={submit}>
              Confirm refund
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}

function Ledger({ timeline }: { timeline: TimelineData }) {
  return (
    <Stack gap="xs">
      {timeline.ledger_entries.map((entry) => (
        <Card withBorder key={entry.id} data-testid="ledger-entry">
          <Group justify="space-between">
            <Text fw={600}>{entry.kind}</Text>
            <Text size="sm" c="dimmed">
              {entry.id} · {when(entry.created_at)}
            </Text>
          </Group>
          <Text size="sm">{entry.description}</Text>
          <Table mt="xs">
            <Table.Tbody>
              {entry.postings.map((p, i) => (
                <Table.Tr key={i}>
                  <Table.Td>{p.account}</Table.Td>
                  <Table.Td>{p.direction}</Table.Td>
                  <Table.Td>
                    {p.amount_minor} (minor) {p.currency}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Card>
      ))}
      {timeline.ledger_entries.length === 0 && <Text c="dimmed">No ledger entries yet.</Text>}
    </Stack>
  );
}

function OrderView({ order, reload }: { order: Order; reload: () => void }) {
  const checkout = useResource<Checkout>(`/v1/checkouts/${encodeURIComponent(order.checkout_id)}`);
  const timeline = useResource<TimelineData>(
    `/dashboard/api/payments/${encodeURIComponent(order.payment_order_id)}/timeline`,
  );
  const refunds = useResource<List<Refund>>(
    `/v1/payments/${encodeURIComponent(order.payment_order_id)}/refunds`,
  );
  const disputes = useResource<List<{ id: string; status: string; amount: string; currency: string }>>(
    '/v1/disputes',
    { payment_order_id: order.payment_order_id },
  );
  const events = useResource<List<{ id: string; type: string; created: number }>>('/v1/events', {
    object_id: order.payment_order_id,
  });
  const reloadAll = () => {
    reload();
    timeline.reload();
    refunds.reload();
  };
  const risk = checkout.data?.risk ?? checkout.data?.risk_decision;
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Payment {order.payment_order_id}</Title>
        <RefundAction order={order} onDone={reloadAll} />
      </Group>
      <Group>
        <StatusBadge status={order.status} />
        {order.refunded && <Badge color="gray">refunded</Badge>}
        <Text>{money(order.amount, order.currency)}</Text>
        <Text>
          seller <Link to={`/sellers/${order.seller_account}`}>{order.seller_account}</Link>
        </Text>
        <Text>checkout {order.checkout_id}</Text>
        {order.amount_refunded && <Text>refunded {money(order.amount_refunded, order.currency)}</Text>}
      </Group>
      <Card withBorder>
        <Title order={4} mb="xs">
          Status history
        </Title>
        <Timeline bulletSize={14} lineWidth={2}>
          {order.status_history.map((change, i) => (
            <Timeline.Item key={i} title={`${change.from ?? '—'} → ${change.to}`}>
              <Text size="sm" c="dimmed">
                {when(change.at)} {change.why ?? ''}
              </Text>
            </Timeline.Item>
          ))}
        </Timeline>
      </Card>
      <Card withBorder>
        <Title order={4} mb="xs">
          Risk decision
        </Title>
        {risk ? (
          <Text>
            {risk.decision} {risk.reasons.join(', ')}
          </Text>
        ) : (
          <Text c="dimmed">none recorded</Text>
        )}
      </Card>
      <Card withBorder>
        <Title order={4} mb="xs">
          PSP events
        </Title>
        <Loaded resource={timeline}>
          {(t) => (
            <Stack gap={2}>
              {t.psp_events.map((e) => (
                <Text size="sm" key={e.id}>
                  {when(e.received_at)} {e.type} — {e.outcome ?? 'not processed yet'}
                </Text>
              ))}
              {t.psp_events.length === 0 && <Text c="dimmed">none</Text>}
            </Stack>
          )}
        </Loaded>
      </Card>
      <Card withBorder>
        <Title order={4} mb="xs">
          Ledger entries
        </Title>
        <Loaded resource={timeline}>{(t) => <Ledger timeline={t} />}</Loaded>
      </Card>
      <Card withBorder>
        <Title order={4} mb="xs">
          Refunds
        </Title>
        <Loaded resource={refunds}>
          {(list) => (
            <Stack gap={2}>
              {list.data.map((r) => (
                <Group key={r.id} gap="xs" data-testid="refund">
                  <Text size="sm">{r.id}</Text>
                  <Text size="sm">{money(r.amount, r.currency)}</Text>
                  <StatusBadge status={r.status} />
                  {r.source && (
                    <Text size="xs" c="dimmed">
                      {r.source}
                    </Text>
                  )}
                </Group>
              ))}
              {list.data.length === 0 && <Text c="dimmed">none</Text>}
            </Stack>
          )}
        </Loaded>
      </Card>
      <Card withBorder>
        <Title order={4} mb="xs">
          Disputes
        </Title>
        {disputes.data?.data.map((d) => (
          <Text size="sm" key={d.id}>
            <Link to={`/disputes/${d.id}`}>{d.id}</Link> {money(d.amount, d.currency)} {d.status}
          </Text>
        )) ?? <Text c="dimmed">none</Text>}
      </Card>
      <Card withBorder>
        <Title order={4} mb="xs">
          Webhooks sent
        </Title>
        {events.data?.data.map((e) => (
          <Text size="sm" key={e.id}>
            {e.id} {e.type}
          </Text>
        )) ?? <Text c="dimmed">none</Text>}
      </Card>
    </Stack>
  );
}

export function PaymentPage() {
  const { id = '' } = useParams();
  const order = useResource<Order>(`/v1/payments/${encodeURIComponent(id)}`);
  return <Loaded resource={order}>{(data) => <OrderView order={data} reload={order.reload} />}</Loaded>;
}

export { Json };
