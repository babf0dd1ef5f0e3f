import { Alert, Badge, Button, Card, Group, Select, Stack, Table, Text, Title } from '@mantine/core';
import { useState } from 'react';
import { ApiError, post, type List } from '../api';
import { Json, Loaded, when } from '../components/Bits';
import { useResource } from '../hooks';
import { useCan } from '../session';

interface Endpoint {
  id: string;
  url: string;
  enabled_events: string[];
  status?: string;
  disabled?: boolean;
  description?: string | null;
}

/** One try of a delivery, as `GET /v1/webhook_endpoints/{id}/deliveries` answers it (AttemptWire). */
interface Attempt {
  id: string;
  delivery: string;
  event: string;
  event_type: string;
  attempt: number;
  succeeded: boolean;
  status_code: number | null;
  error: string | null;
  latency_ms: number;
  delivery_status: string;
  created: number;
}

function Deliveries({ endpoint }: { endpoint: Endpoint }) {
  const can = useCan('operator');
  const deliveries = useResource<List<Attempt>>(
    `/v1/webhook_endpoints/${encodeURIComponent(endpoint.id)}/deliveries`,
    { limit: 50 },
  );
  const [message, setMessage] = useState<string | undefined>(undefined);
  const [inspect, setInspect] = useState<Attempt | undefined>(undefined);
  const redeliver = async (eventId: string) => {
    try {
      await post(`/v1/events/${encodeURIComponent(eventId)}/redeliver`, { endpoint: endpoint.id });
      setMessage(`Event ${eventId} queued again for ${endpoint.url}.`);
      deliveries.reload();
    } catch (caught) {
      setMessage(caught instanceof ApiError ? `${caught.code}: ${caught.message}` : String(caught));
    }
  };
  return (
    <Stack>
      {message && <Alert role="status">{message}</Alert>}
      <Loaded resource={deliveries}>
        {(list) => (
          <Table aria-label="Deliveries">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Event</Table.Th>
                <Table.Th>Type</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>HTTP</Table.Th>
                <Table.Th>Latency</Table.Th>
                <Table.Th>At</Table.Th>
                <Table.Th />
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {list.data.map((d) => (
                <Table.Tr key={d.id} data-row-id={d.id} data-event-id={d.event}>
                  <Table.Td>
                    <Button variant="subtle" size="compact-xs" onClick={() => setInspect(d)}>
                      {d.event}
                    </Button>
                  </Table.Td>
                  <Table.Td>{d.event_type}</Table.Td>
                  <Table.Td>
                    <Badge color={d.succeeded ? 'green' : 'red'}>
                      {d.succeeded ? 'succeeded' : 'failed'}
                    </Badge>{' '}
                    try {d.attempt}, delivery {d.delivery_status}
                  </Table.Td>
                  <Table.Td>{d.status_code ?? ''}</Table.Td>
                  <Table.Td>{`${d.latency_ms} ms`}</Table.Td>
                  <Table.Td>{when(new Date(d.created * 1000).toISOString())}</Table.Td>
                  <Table.Td>
                    <Button size="xs" disabled={!can} onClick={() => redeliver(d.event)}>
                      Redeliver
                    </Button>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
      </Loaded>
      {inspect && (
        <Card withBorder>
          <Json value={inspect} />
        </Card>
      )}
    </Stack>
  );
}

export function WebhooksPage() {
  const endpoints = useResource<List<Endpoint>>('/v1/webhook_endpoints', { limit: 100 });
  const [chosen, setChosen] = useState<string | null>(null);
  return (
    <Stack>
      <Title order={2}>Webhook endpoints</Title>
      <Loaded resource={endpoints}>
        {(list) => {
          const current = list.data.find((e) => e.id === chosen) ?? list.data[0];
          return (
            <Stack>
              <Table aria-label="Webhook endpoints">
                <Table.Tbody>
                  {list.data.map((e) => (
                    <Table.Tr key={e.id}>
                      <Table.Td>{e.id}</Table.Td>
                      <Table.Td>{e.url}</Table.Td>
                      <Table.Td>{e.enabled_events.join(', ')}</Table.Td>
                      <Table.Td>
                        <Badge color={e.disabled || e.status === 'disabled' ? 'red' : 'green'}>
                          {e.status ?? (e.disabled ? 'disabled' : 'enabled')}
                        </Badge>
                      </Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
              {list.data.length === 0 && <Text c="dimmed">No endpoints.</Text>}
              {current && (
                <>
                  <Group>
                    <Select
                      label="Deliveries of"
                      size="xs"
                      data={list.data.map((e) => ({ value: e.id, label: e.url }))}
                      value={current.id}
                      onChange={setChosen}
                    />
                  </Group>
                  <Deliveries key={current.id} endpoint={current} />
                </>
              )}
            </Stack>
          );
        }}
      </Loaded>
    </Stack>
  );
}
