"""BLE: bleak's unmodified client path against the bumble virtual sensor (a real GATT server on
an in-process link), MTU 247, fragments at a small MTU, reconnects, and plain errors."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

bleak = pytest.importorskip("bleak")
pytest.importorskip("bumble")

from bleak import BleakClient, BleakScanner  # noqa: E402

from kneeemg.io import open_recording  # noqa: E402
from kneeemg.protocol import (  # noqa: E402
    BATTERY_LEVEL_UUID,
    BATTERY_SERVICE_UUID,
    CONTROL_CHAR_UUID,
    DATA_CHAR_UUID,
    INFO_CHAR_UUID,
    SERVICE_UUID,
    Command,
    DataFrame,
    InfoFrame,
    decode_frame,
    encode_command,
)
from kneeemg.record import record_link  # noqa: E402
from kneeemg.transport import BluetoothUnavailableError, LinkState, SensorNotFoundError, open_link, scan_sensors  # noqa: E402
from kneeemg.transport.ble import VirtualBleLink  # noqa: E402
from kneeemg.transport.virtual import RADIO_QUEUE, VirtualSensor  # noqa: E402

UPC = 0.0715


def run(coro, timeout_s=30.0):
    return asyncio.run(asyncio.wait_for(coro, timeout_s))


def signal_counts(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(-40000, 40000, (n, 2)).astype(np.int32)


async def wait_until(predicate, timeout_s=10.0):
    async with asyncio.timeout(timeout_s):
        while not predicate():
            await asyncio.sleep(0.01)


def test_bleak_client_reaches_the_virtual_sensor_with_mtu_247_and_full_frames():
    c = signal_counts(4000)

    async def main():
        async with VirtualSensor(c, speed=4.0) as sensor:
            device = await BleakScanner.find_device_by_filter(lambda d, ad: SERVICE_UUID in ad.service_uuids,
                                                              timeout=5.0, backend=sensor.scanner_backend)
            assert device is not None and device.name == "kneeemg"
            notes = []
            async with BleakClient(device, backend=sensor.client_backend, timeout=10.0) as client:
                assert client.mtu_size == 247
                uuids = {s.uuid for s in client.services}
                assert {SERVICE_UUID, BATTERY_SERVICE_UUID} <= uuids
                info = decode_frame(await client.read_gatt_char(INFO_CHAR_UUID))
                battery = (await client.read_gatt_char(BATTERY_LEVEL_UUID))[0]
                await client.start_notify(DATA_CHAR_UUID, lambda _ch, data: notes.append(bytes(data)))
                await client.write_gatt_char(CONTROL_CHAR_UUID, encode_command(Command.START), response=True)
                await wait_until(lambda: len(notes) > 20)
                await client.stop_notify(DATA_CHAR_UUID)
            return info, battery, notes

    info, battery, notes = run(main())
    assert isinstance(info, InfoFrame) and info.labels == ("left", "right") and battery == 87
    frames = [decode_frame(n) for n in notes]
    data = [f for f in frames if isinstance(f, DataFrame)]
    assert all(len(n) == 244 for n, f in zip(notes, frames) if isinstance(f, DataFrame))  # whole MTU-247 payloads
    assert all(f.n_samples == 37 for f in data)
    for f in data:
        np.testing.assert_array_equal(f.counts, c[f.first_sample : f.first_sample + 37])


def test_a_small_mtu_sends_fragments_that_are_reassembled():
    c = signal_counts(3000, seed=2)

    async def main():
        async with VirtualSensor(c, speed=4.0) as sensor:
            link = VirtualBleLink(sensor=sensor, mtu=40)
            await link.open()
            await link.send(Command.START)
            got = []
            async for frame in link.frames(timeout_s=5.0):
                got.append(frame)
                if sum(isinstance(f, DataFrame) for f in got) == 10:
                    break
            await link.close()
            return link, got

    link, got = run(main())
    data = [f for f in got if isinstance(f, DataFrame)]
    assert link.mtu == 40 and link.stats.bad_frames == 0
    assert [f.first_sample for f in data] == [37 * i for i in range(10)]
    np.testing.assert_array_equal(np.concatenate([f.counts for f in data]), c[:370])


def test_recording_through_a_disconnect_and_reconnect(tmp_path):
    c = signal_counts(12000, seed=3)

    async def main():
        async with VirtualSensor(c, speed=4.0) as sensor:
            link = VirtualBleLink(sensor=sensor, backoff_s=0.2)

            async def drop():
                await wait_until(lambda: sensor.next_sample > 4000)
                await sensor.disconnect()

            dropper = asyncio.ensure_future(drop())
            out = await record_link(link, tmp_path, max_samples=len(c), no_data_timeout_s=10.0)
            await dropper
            return out, sensor

    out, sensor = run(main())
    assert out.stop_reason == "samples" and out.mtu == 247
    assert out.status.reconnects == 1 and sensor.connections_made == 2
    with open_recording(out.path) as rec:
        x, info = rec.read(), rec.info
    lost = np.zeros(len(c), bool)
    for first, n in sensor.lost:
        lost[first : first + n] = True
    assert info.n_samples == len(c) and lost.sum() > 0
    marked = np.zeros(len(c), bool)
    for g in info.gaps:
        marked[g.start_sample : g.start_sample + g.n_samples] = True
    # Every sample the sensor took while nobody listened is marked lost; so are the frames still
    # queued in its radio when the link dropped (just before), and nothing else.
    assert marked[lost].all()
    extra = np.flatnonzero(marked & ~lost)
    if len(extra):
        first_lost = sensor.lost[0][0]
        assert extra[-1] == first_lost - 1 and len(extra) == extra[-1] - extra[0] + 1
    assert [(g.start_sample, g.n_samples) for g in info.gaps] and len(info.gaps) == 1
    np.testing.assert_allclose(x[~marked], c[~marked] * UPC, rtol=1e-6)  # the rest, sample by sample


def test_a_sensor_faster_than_the_link_waits_for_its_radio_and_notes_runs_not_frames(tmp_path):
    c = signal_counts(30000, seed=6)  # 811 frames of 37 samples, at far more than the link carries

    async def main():
        async with VirtualSensor(c, speed=1000.0) as sensor:
            queue, most = None, 0

            async def watch():
                nonlocal queue, most
                while True:
                    for conn in list(sensor._subscribed):
                        queue = sensor._device.host.get_data_packet_queue(conn.handle)
                    most = max(most, queue.pending if queue is not None else 0)
                    await asyncio.sleep(0)

            watcher = asyncio.ensure_future(watch())
            out = await record_link(VirtualBleLink(sensor=sensor, backoff_s=0.2), tmp_path, max_samples=len(c),
                                    no_data_timeout_s=10.0, pace=1000.0)
            watcher.cancel()
            return out, sensor, queue, most

    out, sensor, queue, most = run(main())
    assert out.stop_reason == "samples" and out.status.samples == len(c) and out.status.samples_lost == 0
    # before, every frame waited in the stack's queue at once (thousands of packets, growing
    # with the recording's length) and each frame was noted on its own
    assert queue is not None and queue.queued > 811 and most <= RADIO_QUEUE + 16
    assert sensor.sent == [(0, len(c))] and sensor.lost == []


def test_a_late_disconnect_callback_from_an_old_client_is_ignored():
    async def main():
        async with VirtualSensor(speed=2.0, repeat=True) as sensor:
            link = VirtualBleLink(sensor=sensor, backoff_s=0.1)
            await link.open()
            old = link._client
            await sensor.disconnect()
            await wait_until(lambda: link.reconnects == 1 and link.state is LinkState.CONNECTED)
            link._on_disconnected(old)  # as when a stack fires an old client's callback late
            await asyncio.sleep(0.3)
            state, reconnects, disconnects = link.state, link.reconnects, link.disconnects
            await link.close()
            return state, reconnects, disconnects, sensor.connections_made

    assert run(main()) == (LinkState.CONNECTED, 1, 1, 2)


def test_the_rate_and_start_are_sent_again_after_a_reconnect():
    async def main():
        async with VirtualSensor(speed=2.0, repeat=True) as sensor:
            link = VirtualBleLink(sensor=sensor, backoff_s=0.1)
            await link.open()
            await link.send(Command.SET_RATE, 500)
            await link.send(Command.START)
            await sensor.disconnect()
            await wait_until(lambda: link.state is LinkState.RECONNECTING)
            await link.send(Command.SET_RATE, 2000)  # while reconnecting: remembered, and the last one counts
            await wait_until(lambda: link.reconnects == 1 and link.state is LinkState.CONNECTED)
            await wait_until(lambda: len(sensor.commands) >= 4)
            await link.close()
            return [(f.command, f.argument) for f in sensor.commands]

    commands = run(main())
    assert commands[:2] == [(Command.SET_RATE, 500), (Command.START, 0)]
    assert commands[-2:] == [(Command.SET_RATE, 2000), (Command.START, 0)]


def test_scan_finds_the_virtual_sensor_and_a_wrong_address_is_not_found():
    async def main():
        async with VirtualSensor() as sensor:
            found = await scan_sensors(0.5, scanner_backend=sensor.scanner_backend)
            link = open_link("ble://11:22:33:44:55:66", client_backend=sensor.client_backend,
                             scanner_backend=sensor.scanner_backend, scan_timeout_s=0.5)
            with pytest.raises(SensorNotFoundError, match="no sensor 11:22:33:44:55:66 found"):
                await link.open()
            return found

    found = run(main())
    assert [(a, n) for a, n, _ in found] == [("F0:F0:F0:F0:F0:01", "kneeemg")]


def test_no_bluetooth_gives_one_line_not_a_traceback():
    from bleak.backends.scanner import BaseBleakScanner

    class NoAdapter(BaseBleakScanner):
        def __init__(self, detection_callback, service_uuids, *args, **kwargs):
            super().__init__(detection_callback, service_uuids)

        async def start(self):
            raise FileNotFoundError(2, "No such file or directory")

        async def stop(self):
            return None

    with pytest.raises(BluetoothUnavailableError) as err:
        run(open_link("ble://", scanner_backend=NoAdapter, scan_timeout_s=0.5).open())
    assert "\n" not in str(err.value) and "--serial" in str(err.value)
    with pytest.raises(BluetoothUnavailableError):
        run(scan_sensors(0.5, scanner_backend=NoAdapter))
