"""capOS host-side harness: QEMU runner, serial-log parsing, statistics, reports."""
