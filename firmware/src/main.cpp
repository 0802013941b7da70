// kneeemg sensor firmware: ESP32-S3 with an ADS1292R analogue front end.
//
// The ADS1292R samples two channels at 1000 Hz (RDATAC mode). Its DRDY interrupt reads one
// sample set over SPI and pushes it into a lock-free ring (core/kemg_ring.c). The streaming
// task pops sample sets, packs them into data frames (core/kemg_proto.c) and sends each frame
// over USB serial (COBS-framed) and, when a host is subscribed, as a BLE notification. The
// protocol is documented in docs/protocol.md; all framing logic lives in core/ and is tested
// on the host.
#include <Arduino.h>
#include <NimBLEDevice.h>
#include <SPI.h>

extern "C" {
#include "kemg_proto.h"
#include "kemg_ring.h"
}

// ---------------------------------------------------------------- pins and constants
static const int PIN_CS = 10, PIN_DRDY = 9, PIN_START = 8, PIN_PWDN = 7, PIN_VBAT = 1;
static const uint8_t N_CH = 2;
static const float UV_PER_COUNT = 2.42f * 1e6f / 6.0f / 8388607.0f;  // Vref 2.42 V, PGA gain 6
static const uint32_t DEVICE_ID = 0x4B4E0001;
static const uint8_t FIRMWARE[3] = {1, 0, 0};
static const char *LABELS[N_CH] = {"left", "right"};

// ADS1292R opcodes and registers
static const uint8_t SDATAC = 0x11, RDATAC = 0x10, WREG = 0x40;
static const uint8_t REG_CONFIG1 = 0x01, REG_CONFIG2 = 0x02, REG_LOFF = 0x03, REG_CH1SET = 0x04, REG_CH2SET = 0x05,
                     REG_RLD_SENS = 0x06, REG_LOFF_SENS = 0x07;

// ---------------------------------------------------------------- state
static int32_t ring_storage[1024 * N_CH];
static kemg_ring ring;
static volatile uint16_t lead_off_bits = 0;
static volatile bool streaming = false;
static uint64_t next_sample = 0;
static uint16_t ble_mtu = 23;
static NimBLECharacteristic *data_char = nullptr, *info_char = nullptr, *battery_char = nullptr;
static bool ble_subscribed = false;

static void ads_command(uint8_t op) {
  digitalWrite(PIN_CS, LOW);
  SPI.transfer(op);
  digitalWrite(PIN_CS, HIGH);
  delayMicroseconds(10);
}

static void ads_write(uint8_t reg, uint8_t value) {
  digitalWrite(PIN_CS, LOW);
  SPI.transfer(WREG | reg);
  SPI.transfer(0x00);  // one register
  SPI.transfer(value);
  digitalWrite(PIN_CS, HIGH);
  delayMicroseconds(10);
}

static void ads_setup() {
  pinMode(PIN_CS, OUTPUT);
  pinMode(PIN_START, OUTPUT);
  pinMode(PIN_PWDN, OUTPUT);
  pinMode(PIN_DRDY, INPUT);
  digitalWrite(PIN_CS, HIGH);
  digitalWrite(PIN_PWDN, HIGH);
  delay(100);
  SPI.begin();
  SPI.beginTransaction(SPISettings(2000000, MSBFIRST, SPI_MODE1));
  ads_command(SDATAC);
  ads_write(REG_CONFIG1, 0x03);     // 1 kSPS, continuous conversion
  ads_write(REG_CONFIG2, 0xE0);     // lead-off comparators on, internal 2.42 V reference
  ads_write(REG_LOFF, 0xF0);        // lead-off threshold 70 %, 6 nA DC current
  ads_write(REG_CH1SET, 0x00);      // gain 6, normal electrode input
  ads_write(REG_CH2SET, 0x00);
  ads_write(REG_RLD_SENS, 0x2C);    // right-leg drive from channel 1
  ads_write(REG_LOFF_SENS, 0x0F);   // lead-off detection on both inputs of both channels
  digitalWrite(PIN_START, HIGH);
  ads_command(RDATAC);
}

// DRDY falling edge: read 3 status bytes and 2 x 24-bit samples, push them into the ring.
static void IRAM_ATTR on_drdy() {
  uint8_t b[9];
  int32_t set[N_CH];
  digitalWrite(PIN_CS, LOW);
  for (int i = 0; i < 9; i++) b[i] = SPI.transfer(0x00);
  digitalWrite(PIN_CS, HIGH);
  // status word: 1100 + LOFF_STAT[4:0] + GPIO; bits 15..19 hold lead-off per input
  uint32_t status = ((uint32_t)b[0] << 16) | ((uint32_t)b[1] << 8) | b[2];
  uint8_t loff = (status >> 15) & 0x1F;
  lead_off_bits = (uint16_t)(((loff & 0x06) ? 0x01 : 0) | ((loff & 0x18) ? 0x02 : 0));
  for (int c = 0; c < N_CH; c++) {
    int32_t v = ((int32_t)b[3 + 3 * c] << 16) | ((int32_t)b[4 + 3 * c] << 8) | b[5 + 3 * c];
    set[c] = (v & 0x800000) ? v - 0x1000000 : v;  // sign-extend 24 bits
  }
  if (streaming) kemg_ring_push(&ring, set);
}

static uint8_t battery_percent() {
  float volts = analogReadMilliVolts(PIN_VBAT) * 2.0f / 1000.0f;  // 1:2 divider
  float pct = (volts - 3.3f) / (4.2f - 3.3f) * 100.0f;
  return (uint8_t)constrain(pct, 0.0f, 100.0f);
}

static size_t info_frame(uint8_t *out, size_t cap) {
  return kemg_pack_info(out, cap, 1000.0f, UV_PER_COUNT, DEVICE_ID, FIRMWARE, KEMG_FMT_S24, battery_percent(), LABELS, N_CH);
}

static void serial_send(const uint8_t *frame, size_t len) {
  uint8_t enc[600];
  size_t n = kemg_cobs_encode(frame, len, enc, sizeof enc - 1);
  if (!n) return;
  enc[n++] = 0;
  Serial.write(enc, n);
}

static void handle_command(const uint8_t *frame, size_t len) {
  uint8_t cmd;
  uint32_t arg;
  if (kemg_parse_command(frame, len, &cmd, &arg) != 0) return;
  if (cmd == KEMG_CMD_START) {
    streaming = true;
    uint8_t info[128];
    serial_send(info, info_frame(info, sizeof info));
  } else if (cmd == KEMG_CMD_STOP) {
    streaming = false;
  } else if (cmd == KEMG_CMD_REQUEST_INFO) {
    uint8_t info[128];
    serial_send(info, info_frame(info, sizeof info));
  }
  // KEMG_CMD_SET_RATE: this board runs at 1000 Hz only; other rates are ignored.
}

class ControlCallbacks : public NimBLECharacteristicCallbacks {
  void onWrite(NimBLECharacteristic *c) override {
    std::string v = c->getValue();
    handle_command((const uint8_t *)v.data(), v.size());
  }
};

class DataCallbacks : public NimBLECharacteristicCallbacks {
  void onSubscribe(NimBLECharacteristic *, ble_gap_conn_desc *desc, uint16_t sub) override {
    ble_subscribed = sub != 0;
    ble_mtu = NimBLEDevice::getServer()->getPeerMTU(desc->conn_handle);
  }
};

static void ble_setup() {
  NimBLEDevice::init("kneeemg");
  NimBLEDevice::setMTU(247);
  NimBLEServer *server = NimBLEDevice::createServer();
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

void setup() {
  Serial.begin(921600);
  kemg_ring_init(&ring, ring_storage, 1024, N_CH);
  ads_setup();
  ble_setup();
  attachInterrupt(digitalPinToInterrupt(PIN_DRDY), on_drdy, FALLING);
}

void loop() {
  static uint8_t rx[64], dec[64];
  static size_t rx_len = 0;
  static uint32_t last_battery_ms = 0;
  while (Serial.available()) {  // host commands over serial
    uint8_t b = (uint8_t)Serial.read();
    if (b == 0) {
      size_t n = kemg_cobs_decode(rx, rx_len, dec, sizeof dec);
      if (n != (size_t)-1) handle_command(dec, n);
      rx_len = 0;
    } else if (rx_len < sizeof rx) {
      rx[rx_len++] = b;
    }
  }
  uint16_t per_ble = kemg_samples_per_notification(ble_mtu, N_CH, KEMG_FMT_S24);
  uint16_t per_frame = per_ble ? per_ble : kemg_samples_per_notification(247, N_CH, KEMG_FMT_S24);
  if (kemg_ring_count(&ring) >= per_frame) {
    int32_t counts[128 * N_CH];
    uint8_t frame[300];
    uint32_t n = kemg_ring_pop(&ring, counts, per_frame);
    uint16_t status = lead_off_bits | (battery_percent() < 10 ? KEMG_STATUS_BATTERY_LOW : 0);
    size_t len = kemg_pack_data(frame, sizeof frame, next_sample, (uint32_t)micros(), status, KEMG_FMT_S24, counts,
                                (uint16_t)n, N_CH);
    next_sample += n;
    serial_send(frame, len);
    if (ble_subscribed && per_ble) {  // below an MTU of 28 nothing fits: stay silent on BLE
      data_char->setValue(frame, len);
      data_char->notify();
    }
  }
  if (millis() - last_battery_ms > 10000) {
    uint8_t pct = battery_percent(), info[128];
    battery_char->setValue(&pct, 1);
    battery_char->notify();
    info_char->setValue(info, info_frame(info, sizeof info));
    last_battery_ms = millis();
  }
}
