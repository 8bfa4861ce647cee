//! The tray icon and the clickable notifications through their real D-Bus interfaces, on
//! a private session bus this test starts (`dbus-daemon`, Debian package `dbus`; the
//! test is skipped with a message where it is missing).
//!
//! On that bus the test plays the desktop: a StatusNotifierWatcher (first without a
//! host, to see the "no tray" answer), a host reading the item's properties and menu and
//! clicking its entries the way a panel does (`com.canonical.dbusmenu.Event`), and a
//! notification server that answers a click with `ActionInvoked` sent to the
//! notifying connection only, as dunst does.
//!
//! One test function: ksni finds the bus through `DBUS_SESSION_BUS_ADDRESS`, which is
//! set once for this whole test binary before anything reads it.
#![cfg(all(feature = "gui", target_os = "linux"))]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, unbounded};
use lanchat::desktop::notes::Notes;
use lanchat::desktop::tray::{NoTray, TrayIcon};
use lanchat::desktop::{Request, Requests, TrayState};
use zbus::blocking::Connection;
use zbus::blocking::fdo::PropertiesProxy;
use zbus::names::InterfaceName;
use zbus::zvariant::{OwnedValue, Value};

const WAIT: Duration = Duration::from_secs(10);

/// A session bus of our own, stopped when dropped.
struct Bus {
    daemon: Child,
    address: String,
    dir: std::path::PathBuf,
}

impl Bus {
    fn start() -> Option<Bus> {
        let dir = std::env::temp_dir().join(format!("lanchat-bus-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).ok()?;
        let mut daemon = Command::new("dbus-daemon")
            .arg("--session")
            .arg("--nofork")
            .arg("--print-address=1")
            .arg(format!("--address=unix:path={}", dir.join("bus").display()))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let mut address = String::new();
        BufReader::new(daemon.stdout.take()?)
            .read_line(&mut address)
            .ok()?;
        Some(Bus {
            daemon,
            address: address.trim().to_owned(),
            dir,
        })
    }
}

/// The private bus, as the child test process knows it.
struct BusAddress {
    address: String,
}

impl BusAddress {
    fn connect(&self) -> Connection {
        zbus::blocking::connection::Builder::address(self.address.as_str())
            .expect("address")
            .build()
            .expect("connected to the test bus")
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A StatusNotifierWatcher that records registered items.
struct Watcher {
    host: Arc<AtomicBool>,
    items: Sender<String>,
}

#[zbus::interface(name = "org.kde.StatusNotifierWatcher")]
impl Watcher {
    fn register_status_notifier_item(&self, service: &str) {
        let _ = self.items.send(service.to_owned());
    }

    fn register_status_notifier_host(&self, _service: &str) {}

    #[zbus(property)]
    fn is_status_notifier_host_registered(&self) -> bool {
        self.host.load(Ordering::SeqCst)
    }

    #[zbus(property)]
    fn registered_status_notifier_items(&self) -> Vec<String> {
        Vec::new()
    }

    #[zbus(property)]
    fn protocol_version(&self) -> i32 {
        0
    }
}

/// A notification server that reports each `Notify` as (id, sender, summary, body, actions).
struct NotificationServer {
    next: u32,
    shown: Sender<(u32, String, String, String, Vec<String>)>,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl NotificationServer {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &mut self,
        #[zbus(header)] header: zbus::message::Header<'_>,
        _app_name: &str,
        _replaces_id: u32,
        _app_icon: &str,
        summary: &str,
        body: &str,
        actions: Vec<String>,
        _hints: HashMap<String, OwnedValue>,
        _timeout: i32,
    ) -> u32 {
        self.next += 1;
        let sender = header.sender().map(|s| s.to_string()).unwrap_or_default();
        let _ = self.shown.send((
            self.next,
            sender,
            summary.to_owned(),
            body.to_owned(),
            actions,
        ));
        self.next
    }
}

fn requests() -> (Requests, Receiver<Request>) {
    let (tx, rx) = unbounded();
    (Requests::new(tx, lanchat::node::no_waker()), rx)
}

/// The menu's entries by label, as a panel reads them.
fn menu(conn: &Connection, item: &str) -> HashMap<String, i32> {
    let reply = conn
        .call_method(
            Some(item),
            "/MenuBar",
            Some("com.canonical.dbusmenu"),
            "GetGroupProperties",
            &(Vec::<i32>::new(), vec!["label"]),
        )
        .expect("GetGroupProperties");
    let items: Vec<(i32, HashMap<String, OwnedValue>)> = reply.body().deserialize().unwrap();
    items
        .into_iter()
        .filter_map(|(id, props)| {
            let label = String::try_from(props.get("label")?.try_clone().ok()?).ok()?;
            Some((label, id))
        })
        .collect()
}

fn click(conn: &Connection, item: &str, id: i32) {
    conn.call_method(
        Some(item),
        "/MenuBar",
        Some("com.canonical.dbusmenu"),
        "Event",
        &(id, "clicked", Value::from(""), 0u32),
    )
    .expect("a click on a menu entry");
}

fn property(conn: &Connection, item: &str, name: &str) -> OwnedValue {
    PropertiesProxy::builder(conn)
        .destination(item.to_owned())
        .unwrap()
        .path("/StatusNotifierItem")
        .unwrap()
        .build()
        .unwrap()
        .get(
            InterfaceName::from_static_str("org.kde.StatusNotifierItem").unwrap(),
            name,
        )
        .unwrap_or_else(|e| panic!("property {name}: {e}"))
}

/// The `ToolTip` property: icon name, pixmaps, title, description.
type ToolTip = (String, Vec<Pixmap>, String, String);

/// One icon size: width, height, ARGB32 pixels.
type Pixmap = (i32, i32, Vec<u8>);

fn pixmaps(conn: &Connection, item: &str) -> Vec<Pixmap> {
    Vec::try_from(property(conn, item, "IconPixmap")).expect("a(iiay)")
}

/// Set in the child this test runs itself as: the private bus's address is then the
/// process's session bus from its first instruction (setting the variable in a running
/// test process would need `unsafe`, which the crate denies outside Windows' console calls).
const CHILD: &str = "LANCHAT_TRAY_TEST_CHILD";

#[test]
fn the_tray_and_notifications_over_a_real_session_bus() {
    if std::env::var_os(CHILD).is_some() {
        return on_the_private_bus();
    }
    let Some(bus) = Bus::start() else {
        eprintln!("skipped: no dbus-daemon to start a session bus (apt package `dbus`)");
        return;
    };
    let status = Command::new(std::env::current_exe().expect("the test binary"))
        .args([
            "--exact",
            "the_tray_and_notifications_over_a_real_session_bus",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .status()
        .expect("run the test on the private bus");
    assert!(
        status.success(),
        "the test on the private bus failed: {status}"
    );
}

/// The test itself, in a process whose session bus is the private one.
fn on_the_private_bus() {
    let address = std::env::var("DBUS_SESSION_BUS_ADDRESS").expect("the private bus");
    let bus = BusAddress { address };

    // No watcher on the bus: the desktop shows no tray icons.
    let (reqs, _) = requests();
    let err = TrayIcon::start(reqs, TrayState::default()).unwrap_err();
    assert!(matches!(err, NoTray::NoWatcher), "{err}");

    // A watcher, but no host has registered with it.
    let host = Arc::new(AtomicBool::new(false));
    let (items_tx, items) = unbounded();
    let _watcher = zbus::blocking::connection::Builder::address(bus.address.as_str())
        .unwrap()
        .name("org.kde.StatusNotifierWatcher")
        .unwrap()
        .serve_at(
            "/StatusNotifierWatcher",
            Watcher {
                host: host.clone(),
                items: items_tx,
            },
        )
        .unwrap()
        .build()
        .expect("the watcher is on the bus");
    let (reqs, _) = requests();
    let err = TrayIcon::start(reqs, TrayState::default()).unwrap_err();
    assert!(matches!(err, NoTray::NoHost), "{err}");
    items
        .recv_timeout(WAIT)
        .expect("it registered before asking");

    // With a host: the icon is there, with lanchat's pixels and menu.
    host.store(true, Ordering::SeqCst);
    let (reqs, clicks) = requests();
    let mut tray = TrayIcon::start(
        reqs,
        TrayState {
            unread: 0,
            status: "online".into(),
        },
    )
    .expect("a tray icon");
    let item = items.recv_timeout(WAIT).expect("the item registered");
    let panel = bus.connect();
    assert_eq!(
        String::try_from(property(&panel, &item, "Id")).unwrap(),
        "lanchat"
    );
    assert_eq!(
        String::try_from(property(&panel, &item, "Category")).unwrap(),
        "Communications"
    );
    let plain = pixmaps(&panel, &item);
    let sizes: Vec<_> = plain.iter().map(|(w, h, d)| (*w, *h, d.len())).collect();
    assert_eq!(
        sizes,
        [
            (22, 22, 22 * 22 * 4),
            (32, 32, 4096),
            (48, 48, 9216),
            (64, 64, 16384)
        ]
    );

    let entries = menu(&panel, &item);
    for label in [
        "Open lanchat",
        "Status",
        "online",
        "away",
        "busy",
        "Quit lanchat",
    ] {
        assert!(entries.contains_key(label), "{label} in {entries:?}");
    }
    click(&panel, &item, entries["Open lanchat"]);
    assert_eq!(clicks.recv_timeout(WAIT).unwrap(), Request::Show);
    click(&panel, &item, entries["busy"]);
    assert_eq!(
        clicks.recv_timeout(WAIT).unwrap(),
        Request::SetStatus("busy".into())
    );
    click(&panel, &item, entries["Quit lanchat"]);
    assert_eq!(clicks.recv_timeout(WAIT).unwrap(), Request::Quit);
    panel
        .call_method(
            Some(item.as_str()),
            "/StatusNotifierItem",
            Some("org.kde.StatusNotifierItem"),
            "Activate",
            &(0i32, 0i32),
        )
        .expect("Activate");
    assert_eq!(clicks.recv_timeout(WAIT).unwrap(), Request::Show);

    // Unread messages: the icon gets its badge, the menu and tooltip say how many.
    tray.show(&TrayState {
        unread: 3,
        status: "away".into(),
    });
    let badged = pixmaps(&panel, &item);
    assert_ne!(badged, plain, "the count is drawn on the icon");
    let entries = menu(&panel, &item);
    assert!(
        entries.contains_key("Open lanchat (3 unread messages)"),
        "{entries:?}"
    );
    let (_, _, _, description): ToolTip = property(&panel, &item, "ToolTip").try_into().unwrap();
    assert_eq!(description, "3 unread messages · away");
    drop(tray);

    // Notifications: the server answers a click on the connection that notified.
    let (shown_tx, shown) = unbounded();
    let _server = zbus::blocking::connection::Builder::address(bus.address.as_str())
        .unwrap()
        .name("org.freedesktop.Notifications")
        .unwrap()
        .serve_at(
            "/org/freedesktop/Notifications",
            NotificationServer {
                next: 100,
                shown: shown_tx,
            },
        )
        .unwrap()
        .build()
        .expect("the notification server is on the bus");
    let (reqs, clicks) = requests();
    let mut notes = Notes::on_bus(&bus.address, reqs);
    notes.notify(7, "张三", "还在吗？");
    notes.notify(8, "李娜", "下午开会");
    let (first, sender, summary, body, actions) = shown.recv_timeout(WAIT).expect("notified");
    assert_eq!((summary.as_str(), body.as_str()), ("张三", "还在吗？"));
    assert_eq!(actions, ["default", "Open"]);
    let (second, ..) = shown.recv_timeout(WAIT).expect("notified again");
    let server_side = bus.connect();
    let act = |id: u32, action: &str| {
        server_side
            .emit_signal(
                Some(sender.as_str()),
                "/org/freedesktop/Notifications",
                "org.freedesktop.Notifications",
                "ActionInvoked",
                &(id, action),
            )
            .expect("signal sent");
    };
    act(second, "default");
    assert_eq!(clicks.recv_timeout(WAIT).unwrap(), Request::OpenNote(8));
    act(999, "default"); // not ours: ignored
    act(first, "default");
    assert_eq!(clicks.recv_timeout(WAIT).unwrap(), Request::OpenNote(7));
    drop(notes); // joins both notification threads
    assert!(clicks.try_recv().is_err(), "nothing else arrived");
}
