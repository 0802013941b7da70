// kneeemg sensor firmware: ESP32-S3 with an ADS1292R analogue front end.
//
// Data path. The ADS1292R converts two channels continuously (RDATAC) at 1000 Hz by
// default. Its DRDY falling edge runs a tiny interrupt that counts the conversion, stamps
// it with the µs clock and wakes the acquisition task (highest priority, core 1). That task
// reads the 9-byte sample (status word + 2 x 24-bit, MSB first) over SPI and pushes a
// kemg_sample_set (index, timestamp, lead-off status, counts) into the lock-free ring
// (core/kemg_ring.c). SPI is not touched in the interrupt: the Arduino SPI driver takes a
// lock. The streaming task pops sets, builds data frames with the core's assembler
// (core/kemg_frame.c) and sends each frame over USB serial (COBS, zero-delimited) and, when
// a host is subscribed, as a BLE notification (whole, or in fragments below the MTU where
// whole frames fit). A set lost anywhere (ring full, a late read) leaves a jump in the
// sample index that the assembler turns into a frame boundary, so the host sees an exact
// gap. Commands (start, stop, set rate, request info) arrive on serial and on the BLE
// control characteristic and are handled in the streaming task.
//
// All protocol logic lives in core/ and is tested on the host (make -C firmware test);
// docs/protocol.md describes the bytes.
#include <Arduino.h>
#include <NimBLEDevice.h>
#include <SPI.h>
#include <esp_timer.h>
#if __has_include(<esp_random.h>)
#include <esp_random.h>  // ESP-IDF 5; in 4.4 esp_random() comes with esp_system.h
#endif

extern "C" {
#include "kemg_frame.h"
#include "kemg_proto.h"
#include "kemg_ring.h"
}

// ---------------------------------------------------------------- board and constants
static const int PIN_CS = 10, PIN_DRDY = 9, PIN_START = 8, PIN_PWDN = 7, PIN_VBAT = 1;
static const uint8_t N_CH = 2;
// Input-referred LSB: Vref / gain / (2^23 - 1) = 2.42 V / 6 / 8388607 = 0.0481 µV.
static const float UV_PER_COUNT = 2.42f * 1e6f / 6.0f / 8388607.0f;
static const uint8_t FIRMWARE_VERSION[3] = {1, 1, 0};
static const char *const LABELS[N_CH] = {"left", "right"};
static const uint8_t BATTERY_LOW_PCT = 10;

// ADS1292R opcodes and registers (datasheet SBAS502).
static const uint8_t OP_RESET = 0x06, OP_SDATAC = 0x11, OP_RDATAC = 0x10, OP_WREG = 0x40;
static const uint8_t REG_CONFIG1 = 0x01, REG_CONFIG2 = 0x02, REG_LOFF = 0x03, REG_CH1SET = 0x04, REG_CH2SET = 0x05,
                     REG_RLD_SENS = 0x06, REG_LOFF_SENS = 0x07, REG_RESP1 = 0x09, REG_RESP2 = 0x0A;

// ---------------------------------------------------------------- state shared between tasks
static kemg_sample_set ring_storage[1024];  // about 1 s at 1000 Hz
static kemg_ring ring;
static TaskHandle_t acq_task = nullptr;
static volatile uint32_t drdy_count = 0;       // conversions since boot (ISR only)
static volatile uint32_t drdy_time_us = 0;     // clock at the latest conversion (ISR only)
static volatile uint32_t session_base = 0;     // drdy_count at START
static volatile uint32_t streaming = 0;
static volatile uint16_t battery_status = 0;   // KEMG_STATUS_BATTERY_LOW or 0
static volatile uint16_t ble_mtu = 23;
static volatile bool ble_subscribed = false;
static volatile bool plan_changed = true;

struct CommandMsg {
  uint8_t command;
  uint32_t argument;
};
static QueueHandle_t commands = nullptr;

// Owned by the streaming task.
static kemg_assembler assembler;
static uint32_t session_id = 0;
static float fs_hz = 1000.0f;
static uint8_t battery_pct = 100;
static int ble_fragmented = 0;
static NimBLECharacteristic *data_char = nullptr, *info_char = nullptr, *battery_char = nullptr;

// ---------------------------------------------------------------- ADS1292R
static void ads_command(uint8_t op) {
  SPI.beginTransaction(SPISettings(2000000, MSBFIRST, SPI_MODE1));
  digitalWrite(PIN_CS, LOW);
  SPI.transfer(op);
  delayMicroseconds(2);
  digitalWrite(PIN_CS, HIGH);
  SPI.endTransaction();
  delayMicroseconds(10);  // at least 4 tCLK between commands
}

static void ads_write(uint8_t reg, uint8_t value) {
  SPI.beginTransaction(SPISettings(2000000, MSBFIRST, SPI_MODE1));
  digitalWrite(PIN_CS, LOW);
  SPI.transfer(OP_WREG | reg);
  SPI.transfer(0x00);  // one register
  SPI.transfer(value);
  delayMicroseconds(2);
  digitalWrite(PIN_CS, HIGH);
  SPI.endTransaction();
  delayMicroseconds(10);
}

// CONFIG1 data rate code for 125 * 2^k Hz (k = 0..6), or -1.
static int rate_code(uint32_t hz) {
  for (int k = 0; k <= 6; k++)
    if (hz == (125u << k)) return k;
  return -1;
}

static void ads_setup(int code) {
  ads_command(OP_SDATAC);  // registers can only be written outside continuous mode
  ads_write(REG_CONFIG1, (uint8_t)code);  // continuous conversion at 125 * 2^code SPS
  ads_write(REG_CONFIG2, 0xE0);     // bit 7 set (required), lead-off comparators on, reference buffer on, Vref 2.42 V
  ads_write(REG_LOFF, 0xF0);        // comparator threshold 70 % / 30 %, bit 4 set (required), 6 nA DC lead-off current
  ads_write(REG_CH1SET, 0x00);      // powered, gain 6, normal electrode input
  ads_write(REG_CH2SET, 0x00);
  ads_write(REG_RLD_SENS, 0x2F);    // right-leg drive on, derived from both inputs of both channels
  ads_write(REG_LOFF_SENS, 0x0F);   // lead-off detection on IN1P, IN1N, IN2P, IN2N
  ads_write(REG_RESP1, 0x02);       // respiration off (bit 1 must be 1)
  ads_write(REG_RESP2, 0x03);       // RLD reference from the internal mid-supply (bit 0 must be 1)
  digitalWrite(PIN_START, HIGH);
  ads_command(OP_RDATAC);
}

static void ads_power_up() {
  pinMode(PIN_CS, OUTPUT);
  pinMode(PIN_START, OUTPUT);
  pinMode(PIN_PWDN, OUTPUT);
  pinMode(PIN_DRDY, INPUT_PULLUP);
  digitalWrite(PIN_CS, HIGH);
  digitalWrite(PIN_START, LOW);
  digitalWrite(PIN_PWDN, HIGH);
  delay(150);  // the internal oscillator and reference settle
  SPI.begin();
  ads_command(OP_RESET);
  delay(1);
  ads_setup(rate_code(1000));
}

// DRDY falling edge: count and stamp the conversion, wake the acquisition task.
static void IRAM_ATTR on_drdy() {
  BaseType_t woken = pdFALSE;
  drdy_count = drdy_count + 1;
  drdy_time_us = (uint32_t)esp_timer_get_time();
  vTaskNotifyGiveFromISR(acq_task, &woken);
  if (woken) portYIELD_FROM_ISR();
}

// Acquisition: read each conversion and push it into the ring (the ring's producer).
static void acquisition_task(void *) {
  uint8_t b[9];
  for (;;) {
    ulTaskNotifyTake(pdTRUE, portMAX_DELAY);  // conversions missed while late show up as an index jump
    uint32_t count = drdy_count, stamp = drdy_time_us;
    SPI.beginTransaction(SPISettings(2000000, MSBFIRST, SPI_MODE1));
    digitalWrite(PIN_CS, LOW);
    for (int i = 0; i < 9; i++) b[i] = SPI.transfer(0x00);
    digitalWrite(PIN_CS, HIGH);
    SPI.endTransaction();
    if (!streaming) continue;
    kemg_sample_set s;
    memset(&s, 0, sizeof s);
    s.index = (uint32_t)(count - session_base - 1u);  // uint32 wraps after 49 days at 1 kHz; sessions are nights
    s.timestamp_us = stamp;
    // Status word: 1100 | LOFF_STAT[4:0] | GPIO[1:0] | 13 zeros. LOFF_STAT bit 0 IN1P, 1 IN1N, 2 IN2P, 3 IN2N, 4 RLD.
    uint32_t word = ((uint32_t)b[0] << 16) | ((uint32_t)b[1] << 8) | b[2];
    uint8_t loff = (uint8_t)((word >> 15) & 0x1F);
    uint16_t lead_off = (uint16_t)(((loff & 0x03) ? 0x01 : 0) | ((loff & 0x0C) ? 0x02 : 0) | ((loff & 0x10) ? 0x03 : 0));
    s.status = (uint16_t)(lead_off | battery_status);
    for (int c = 0; c < N_CH; c++) {
      uint32_t u = ((uint32_t)b[3 + 3 * c] << 16) | ((uint32_t)b[4 + 3 * c] << 8) | b[5 + 3 * c];
      s.counts[c] = (int32_t)(u ^ 0x800000u) - 0x800000;  // sign-extend 24 bits
    }
    kemg_ring_push(&ring, &s);  // full: counted in ring.dropped, and the index jump marks the gap
  }
}

// ---------------------------------------------------------------- links
static void serial_send(const uint8_t *frame, size_t len) {
  uint8_t enc[KEMG_BLE_FULL_MTU + 8];
  size_t n = kemg_cobs_encode(frame, len, enc, sizeof enc - 1);
  if (!n) return;
  enc[n++] = 0;
  if (Serial.availableForWrite() >= (int)n) Serial.write(enc, n);  // no host reading: drop, never block
}

static void ble_send(const uint8_t *frame, size_t len) {
  if (!ble_subscribed) return;
  uint16_t mtu = ble_mtu;
  if (len + 3 <= mtu) {
    data_char->setValue(frame, len);
    data_char->notify();
    return;
  }
  uint8_t piece[KEMG_BLE_FULL_MTU];
  size_t n;
  for (unsigned i = 0; (n = kemg_fragment(frame, len, mtu, i, piece, sizeof piece)) > 0; i++) {
    data_char->setValue(piece, n);
    data_char->notify();
  }
}

static void send_frame(const uint8_t *frame, size_t len) {
  serial_send(frame, len);
  ble_send(frame, len);
}

// Packs the info frame into out and makes it the info characteristic's value. Returns its
// length, or 0 (the characteristic keeps its last value) if a field is one the host refuses.
static size_t update_info(uint8_t *out, size_t cap) {
  size_t n = kemg_pack_info(out, cap, fs_hz, UV_PER_COUNT, (uint32_t)ESP.getEfuseMac(), FIRMWARE_VERSION, KEMG_FMT_S24,
                            battery_pct, session_id, LABELS, N_CH);
  if (n) info_char->setValue(out, n);
  return n;
}

static void send_info() {
  uint8_t info[KEMG_INFO_HEADER + N_CH * KEMG_LABEL_BYTES + KEMG_CRC_BYTES];
  size_t n = update_info(info, sizeof info);
  if (n) send_frame(info, n);
}

static void read_battery() {
  float volts = analogReadMilliVolts(PIN_VBAT) * 2.0f / 1000.0f;  // 1:2 divider on the cell
  float pct = (volts - 3.3f) / (4.2f - 3.3f) * 100.0f;
  battery_pct = (uint8_t)constrain(pct, 0.0f, 100.0f);
  battery_status = battery_pct < BATTERY_LOW_PCT ? KEMG_STATUS_BATTERY_LOW : 0;
}

// ---------------------------------------------------------------- commands
static void handle_command(const CommandMsg &m) {
  uint8_t frame[KEMG_BLE_FULL_MTU];
  size_t n;
  switch (m.command) {
    case KEMG_CMD_START:
      if (!streaming) {  // a new session: new id, the sample index restarts at 0
        static kemg_sample_set stale[16];
        while (kemg_ring_pop(&ring, stale, 16) > 0) {}  // sets of the last session left in the ring are not sent in this one
        session_id = esp_random();
        kemg_asm_init(&assembler, N_CH, KEMG_FMT_S24, assembler.samples_per_frame ? assembler.samples_per_frame : 37);
        session_base = drdy_count;
        streaming = 1;
      }
      send_info();  // a second host (serial and BLE at once) just gets the info frame
      break;
    case KEMG_CMD_STOP:
      streaming = 0;
      if ((n = kemg_asm_flush(&assembler, frame, sizeof frame)) > 0) send_frame(frame, n);
      break;
    case KEMG_CMD_SET_RATE:
      if (!streaming && rate_code(m.argument) >= 0) {  // only between sessions: a session has one rate
        ads_setup(rate_code(m.argument));
        fs_hz = (float)m.argument;
      }
      send_info();  // the host reads the rate in force from the info frame
      break;
    case KEMG_CMD_REQUEST_INFO:
      send_info();
      break;
  }
}

static void queue_command(const uint8_t *frame, size_t len) {
  CommandMsg m;
  if (kemg_parse_command(frame, len, &m.command, &m.argument) == 0) xQueueSend(commands, &m, 0);
}

class ControlCallbacks : public NimBLECharacteristicCallbacks {
  void onWrite(NimBLECharacteristic *c) override {
    std::string v = c->getValue();
    queue_command((const uint8_t *)v.data(), v.size());
  }
};

class DataCallbacks : public NimBLECharacteristicCallbacks {
  void onSubscribe(NimBLECharacteristic *, ble_gap_conn_desc *desc, uint16_t sub) override {
    ble_subscribed = sub != 0;
    ble_mtu = NimBLEDevice::getServer()->getPeerMTU(desc->conn_handle);
    plan_changed = true;
  }
};

class ServerCallbacks : public NimBLEServerCallbacks {
  void onMTUChange(uint16_t mtu, ble_gap_conn_desc *) override {
    ble_mtu = mtu;
    plan_changed = true;
  }
  void onDisconnect(NimBLEServer *) override {
    ble_subscribed = false;
    ble_mtu = 23;
    plan_changed = true;
    NimBLEDevice::startAdvertising();
  }
};

static void ble_setup() {
  NimBLEDevice::init("kneeemg");
  NimBLEDevice::setMTU(KEMG_BLE_FULL_MTU);
  NimBLEServer *server = NimBLEDevice::createServer();
  server->setCallbacks(new ServerCallbacks());
  NimBLEService *svc = server->createService("6b6e6565-6d67-4000-8000-00805f9b34fb");
  data_char = svc->createCharacteristic("6b6e6565-6d67-4001-8000-00805f9b34fb", NIMBLE_PROPERTY::NOTIFY);
  data_char->setCallbacks(new DataCallbacks());
  svc->createCharacteristic("6b6e6565-6d67-4002-8000-00805f9b34fb", NIMBLE_PROPERTY::WRITE)->setCallbacks(new ControlCallbacks());
  info_char = svc->createCharacteristic("6b6e6565-6d67-4003-8000-00805f9b34fb", NIMBLE_PROPERTY::READ);
  svc->start();
  NimBLEService *batt = server->createService((uint16_t)0x180F);
  battery_char = batt->createCharacteristic((uint16_t)0x2A19, NIMBLE_PROPERTY::READ | NIMBLE_PROPERTY::NOTIFY);
  batt->start();
  NimBLEAdvertising *adv = NimBLEDevice::getAdvertising();
  adv->addServiceUUID(svc->getUUID());
  adv->start();
}

// ---------------------------------------------------------------- streaming (the ring's consumer)
static void stream_task(void *) {
  static kemg_sample_set sets[64];
  uint8_t frame[KEMG_BLE_FULL_MTU], rx[32], dec[32];
  size_t rx_len = 0;
  uint32_t last_battery_ms = 0;
  for (;;) {
    while (Serial.available()) {  // host commands over serial, COBS-framed
      uint8_t c = (uint8_t)Serial.read();
      if (c == 0) {
        size_t n = kemg_cobs_decode(rx, rx_len, dec, sizeof dec);
        if (n != (size_t)-1) queue_command(dec, n);
        rx_len = 0;
      } else if (rx_len < sizeof rx) {
        rx[rx_len++] = c;
      }
    }
    CommandMsg m;
    while (xQueueReceive(commands, &m, 0) == pdTRUE) handle_command(m);
    if (plan_changed) {  // the BLE MTU changed: close the current frame and resize
      plan_changed = false;
      size_t n = kemg_asm_flush(&assembler, frame, sizeof frame);
      if (n) send_frame(frame, n);
      uint16_t spf = kemg_ble_plan(ble_subscribed ? ble_mtu : KEMG_BLE_FULL_MTU, N_CH, KEMG_FMT_S24, &ble_fragmented);
      if (spf) kemg_asm_set_samples_per_frame(&assembler, spf);
    }
    uint32_t got = kemg_ring_pop(&ring, sets, 64);
    for (uint32_t i = 0; i < got; i++) {
      size_t n = kemg_asm_add(&assembler, &sets[i], frame, sizeof frame);
      if (n && streaming) send_frame(frame, n);
    }
    if (millis() - last_battery_ms > 10000) {
      read_battery();
      battery_char->setValue(&battery_pct, 1);
      battery_char->notify();
      uint8_t info[KEMG_INFO_HEADER + N_CH * KEMG_LABEL_BYTES + KEMG_CRC_BYTES];
      update_info(info, sizeof info);
      last_battery_ms = millis();
    }
    if (!got) vTaskDelay(pdMS_TO_TICKS(2));
  }
}

void setup() {
  Serial.begin(921600);
  Serial.setTxTimeoutMs(0);  // never stall the stream when no host reads the USB port
  kemg_ring_init(&ring, ring_storage, sizeof ring_storage / sizeof ring_storage[0]);
  kemg_asm_init(&assembler, N_CH, KEMG_FMT_S24, kemg_samples_per_notification(KEMG_BLE_FULL_MTU, N_CH, KEMG_FMT_S24));
  commands = xQueueCreate(8, sizeof(CommandMsg));
  session_id = esp_random();
  read_battery();
  ble_setup();
  ads_power_up();
  xTaskCreatePinnedToCore(acquisition_task, "acq", 4096, nullptr, configMAX_PRIORITIES - 1, &acq_task, 1);
  xTaskCreatePinnedToCore(stream_task, "stream", 8192, nullptr, 5, nullptr, 1);
  attachInterrupt(digitalPinToInterrupt(PIN_DRDY), on_drdy, FALLING);
  send_info();  // the device announces itself; it streams after START
}

void loop() { vTaskDelete(nullptr); }  // all work happens in the two tasks
