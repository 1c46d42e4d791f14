// Real multithreaded programs from Debian's packages under `lockhound run`: each one's output and
// exit status must be identical to a plain run, and the report must have no findings. Programs
// that are not installed are skipped (scripts/setup.sh installs them: pigz, lbzip2, pbzip2,
// xz-utils, zstd, sqlite3, redis-server, memcached, sysbench, stress-ng; cc, ar and ld.gold come
// with build-essential; node comes with the machine; java and javac with openjdk-17-jdk-headless;
// nginx; mariadb-server).
#include <signal.h>
#include <sys/socket.h>
#include <atomic>
#include <netinet/in.h>

#include "runtime/run_helper.h"

namespace {

using namespace lockhound::rttest;

bool installed(const std::string& name) {
  return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

// Runs NAME ARGS plainly; returns stdout and sets `status`.
std::string run_plain(const std::string& name, const std::vector<std::string>& args,
                      const std::string& input, int& status) {
  char tmpl[] = "/tmp/lockhound-plain-XXXXXX";
  fs::path dir = mkdtemp(tmpl);
  pid_t pid = fork();
  if (pid == 0) {
    int in = open(input.empty() ? "/dev/null" : input.c_str(), O_RDONLY);
    int out = open((dir / "stdout").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open("/dev/null", O_WRONLY);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    std::vector<std::string> argv = {name};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> a;
    for (auto& s : argv) a.push_back(s.data());
    a.push_back(nullptr);
    execvp(a[0], a.data());
    _exit(127);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  std::string out = slurp(dir / "stdout");
  fs::remove_all(dir);
  return out;
}

// A free loopback port: bind to 0 and read it back (0 when that fails).
int free_loopback_port() {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  close(s);
  return port;
}

// A socket connected to 127.0.0.1:port, or -1.
int connect_loopback(int port) {
  int c = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(c, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    close(c);
    return -1;
  }
  return c;
}

class RealPrograms : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/lockhound-real-XXXXXX";
    dir_ = mkdtemp(tmpl);
    // 4 MB of compressible, deterministic text, and a shuffled copy for sort.
    std::ofstream text(dir_ / "data.txt");
    std::ofstream shuffled(dir_ / "shuffled.txt");
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 400000; ++i) {
      text << "line " << i << " value " << (static_cast<uint64_t>(i) * 7919u) % 100003u << "\n";
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      shuffled << (x % 1000000) << " item " << i << "\n";
    }
    std::ofstream sql(dir_ / "script.sql");
    sql << "create table t(a integer primary key, b text);\n"
           "with recursive c(x) as (select 1 union all select x+1 from c where x < 20000)\n"
           "  insert into t select x, printf('%08x', (x * 2654435761) % 4294967296) from c;\n"
           "create index tb on t(b);\n"
           "select count(*), sum(a) from t;\n"
           "select b from t order by b limit 3;\n"
           "select count(*) from t where b like 'a%';\n";
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  // The same command plainly and under lockhound: same output, same status, no findings.
  void same_as_plain(const std::string& name, const std::vector<std::string>& args,
                     const std::string& input = "") {
    if (!installed(name)) GTEST_SKIP() << name << " is not installed";
    int plain_status = -1;
    std::string plain = run_plain(name, args, input, plain_status);
    ProgRun r = run_under("sys:" + name, args, {}, 120, input);
    EXPECT_EQ(r.exit_code, plain_status) << dump(r);
    EXPECT_TRUE(r.out == plain) << name << ": output differs (" << r.out.size() << " vs "
                                << plain.size() << " bytes)";
    ASSERT_TRUE(r.report.contains("findings")) << dump(r);
    EXPECT_EQ(r.report["findings"].size(), 0u) << dump(r);
    EXPECT_GT(r.report["stats"]["acquisitions"].get<uint64_t>(), 0u)
        << name << " took no lock at all: the runtime did not see it";
  }

  static fs::path dir_;
};
fs::path RealPrograms::dir_;

TEST_F(RealPrograms, Pigz) { same_as_plain("pigz", {"-p", "4", "-c", (dir_ / "data.txt").string()}); }
TEST_F(RealPrograms, XzThreaded) { same_as_plain("xz", {"-1", "-T4", "-c", (dir_ / "data.txt").string()}); }
TEST_F(RealPrograms, ZstdThreaded) {
  same_as_plain("zstd", {"-T4", "-q", "-c", (dir_ / "data.txt").string()});
}
TEST_F(RealPrograms, Lbzip2) { same_as_plain("lbzip2", {"-n", "4", "-c", (dir_ / "data.txt").string()}); }
TEST_F(RealPrograms, Pbzip2) { same_as_plain("pbzip2", {"-p4", "-c", (dir_ / "data.txt").string()}); }
TEST_F(RealPrograms, SortParallel) {
  same_as_plain("sort", {"--parallel=4", "-S", "1M", (dir_ / "shuffled.txt").string()});
}
TEST_F(RealPrograms, Sqlite) { same_as_plain("sqlite3", {":memory:"}, (dir_ / "script.sql").string()); }

// ld.gold linking with threads: gold makes every mutex through one wrapper (its Lock class), so
// all of them share one init-site class, and it nests two of them when it pulls members out of
// an archive. That nesting is consistent; until session 6 it was reported as recursive
// locking and the linker's exit status (66) failed the link. The link runs through the compiler
// driver, so ld.gold is a child process (children are followed).
TEST_F(RealPrograms, GoldThreadedLink) {
  if (!installed("cc") || !installed("ld.gold") || !installed("ar")) GTEST_SKIP() << "no cc, ld.gold or ar";
  fs::path d = dir_ / "gold";
  fs::create_directories(d);
  std::string objs;
  for (int i = 1; i <= 60; ++i) {
    std::ofstream(d / ("f" + std::to_string(i) + ".c"))
        << "#include <stdio.h>\nint f" << i << "(int x) { static char b[64]; snprintf(b, sizeof b, \"%d\", x);"
        << " return b[0] + " << i << "; }\n";
    objs += " f" + std::to_string(i) + ".o";
  }
  std::ofstream(d / "main.c") << "int f1(int);\nint main(void) { return f1(3) == 0; }\n";
  ASSERT_EQ(std::system(("cd " + d.string() + " && cc -c f*.c main.c && ar rcs libf.a" + objs).c_str()), 0);
  auto args = [&](const std::string& out) {
    std::vector<std::string> a = {"-fuse-ld=gold", "-Wl,--threads", "-Wl,--thread-count=4",
                                  (d / "main.o").string()};
    a.push_back((d / "libf.a").string());  // members pulled from the archive: the nesting
    a.push_back("-o");
    a.push_back((d / out).string());
    return a;
  };
  int plain_status = -1;
  run_plain("cc", args("plain"), "", plain_status);
  ASSERT_EQ(plain_status, 0);
  ProgRun r = run_under("sys:cc", args("under"), {}, 600);
  EXPECT_EQ(r.exit_code, 0) << dump(r);
  EXPECT_EQ(slurp(d / "plain"), slurp(d / "under")) << "the linked programs differ";
  uint64_t gold_acquisitions = 0;
  for (const auto& c : r.children) {
    EXPECT_EQ(c["findings"].size(), 0u) << c.dump(2);
    if (c["inputs"].dump().find("ld.gold") != std::string::npos)
      gold_acquisitions += c["stats"]["acquisitions"].get<uint64_t>();
  }
  EXPECT_GT(gold_acquisitions, 0u) << "ld.gold ran unseen: " << dump(r);
}

// node: V8's platform threads, libuv's thread pool (crypto.pbkdf2) and four worker threads, each
// compressing and hashing. Thousands of locks made through V8's one Mutex constructor; without
// debug information the init sites are named from node's symbol table (tens of thousands of
// entries: a linear lookup per site made this run 3x slower than plain).
TEST_F(RealPrograms, NodeWorkerThreads) {
  std::ofstream(dir_ / "workers.js") << R"JS(
const { Worker, isMainThread, parentPort } = require('worker_threads');
const crypto = require('crypto'); const zlib = require('zlib');
if (isMainThread) {
  let done = 0; const digests = [];
  for (let i = 0; i < 4; i++) {
    const w = new Worker(__filename);
    w.on('message', (m) => { digests.push(m); if (++done === 4) {
      let pending = 50; const keys = [];
      for (let k = 0; k < 50; k++)
        crypto.pbkdf2('pw', 'salt' + k, 200, 16, 'sha256', (e, key) => {
          keys[k] = key.toString('hex');
          if (--pending === 0) console.log(digests.sort().join('\n') + '\n' + keys.join(''));
        });
    }});
  }
} else {
  const h = crypto.createHash('sha256');
  for (let i = 0; i < 500; i++) h.update(zlib.gzipSync(Buffer.alloc(2000, i % 251)));
  parentPort.postMessage(h.digest('hex'));
}
)JS";
  same_as_plain("node", {(dir_ / "workers.js").string()});
}

// OpenJDK: a parallel stream, 64 tasks on an 8-thread pool nesting Java monitors in a consistent
// order, and a thread joined. What lockhound sees is HotSpot's own pthread locks (compiler and GC
// threads, safepoints, the class loader). Its VM thread ends at the final safepoint still
// holding Threads_lock, on purpose: the built-in suppressions (docs/runtime.md) keep that from
// being reported, and the second run shows that the finding is real without them.
TEST_F(RealPrograms, JavaThreadPoolAndMonitors) {
  if (!installed("java") || !installed("javac")) GTEST_SKIP() << "java or javac is not installed";
  std::ofstream(dir_ / "Pool.java") << R"JAVA(
import java.util.*; import java.util.concurrent.*; import java.util.stream.*;
public class Pool {
  public static void main(String[] args) throws Exception {
    long s = IntStream.range(0, 2_000_000).parallel().mapToObj(i -> new int[]{i}).mapToLong(a -> a[0] % 7).sum();
    ExecutorService ex = Executors.newFixedThreadPool(8);
    List<Future<Integer>> fs = new ArrayList<>();
    Object[] locks = new Object[16];
    for (int i = 0; i < 16; i++) locks[i] = new Object();
    for (int t = 0; t < 64; t++) {
      final int k = t;
      fs.add(ex.submit(() -> {
        int c = 0;
        for (int i = 0; i < 20000; i++) {
          int a = (k + i) % 16, b = (a + 1 + i % 3) % 16;
          synchronized (locks[Math.min(a, b)]) { synchronized (locks[Math.max(a, b)]) { c += Integer.toString(i).length(); } }
        }
        return c;
      }));
    }
    long total = 0;
    for (Future<Integer> f : fs) total += f.get();
    ex.shutdown();
    Thread th = new Thread(() -> { try { Thread.sleep(20); } catch (InterruptedException e) {} });
    th.start(); th.join();
    System.out.println(s + " " + total);
  }
}
)JAVA";
  int st = std::system(("javac -d " + dir_.string() + " " + (dir_ / "Pool.java").string()).c_str());
  ASSERT_EQ(st, 0) << "javac failed";
  std::vector<std::string> args = {"-Xmx256m", "-cp", dir_.string(), "Pool"};
  same_as_plain("java", args);
  ProgRun raw = run_under("sys:java", args, {"--no-default-suppressions"}, 600);
  ASSERT_TRUE(raw.report.contains("findings")) << dump(raw);
  bool vm_thread_ended_holding = false;
  for (const auto& f : raw.report["findings"])
    if (f["type"] == "still_has_locks_held" && f.dump().find("VM Thread") != std::string::npos)
      vm_thread_ended_holding = true;
  EXPECT_TRUE(vm_thread_ended_holding) << dump(raw);
}

// nginx: a master and two forked workers, each with a thread pool reading files (aio threads),
// under eight loopback clients. Run as root, the workers switch to user nobody right after fork,
// and nginx empties their environment: each must still write its own report (created before
// the switch, in a directory only root may write to) and stay quiet about a clean run.
TEST_F(RealPrograms, NginxWorkersWithThreadPools) {
  if (!installed("nginx")) GTEST_SKIP() << "nginx is not installed";
  int port = free_loopback_port();
  ASSERT_GT(port, 0);
  char tmpl[] = "/tmp/lockhound-nginx-XXXXXX";
  fs::path root = mkdtemp(tmpl);
  fs::permissions(root, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                            fs::perms::others_read | fs::perms::others_exec);
  fs::create_directories(root / "html");
  fs::create_directories(root / "logs");
  std::string body;
  for (int i = 0; i < 300000; ++i) body += std::to_string(i * 2654435761u % 1000003u) + (i % 16 ? " " : "\n");
  std::ofstream(root / "html" / "data.txt") << body;
  std::ofstream(root / "nginx.conf")
      << "daemon off; master_process on; worker_processes 2;\n"
      << "pid " << (root / "nginx.pid").string() << ";\n"
      << "error_log " << (root / "logs" / "error.log").string() << ";\n"
      << "thread_pool default threads=4 max_queue=1024;\n"
      << "events { worker_connections 64; }\n"
      << "http { access_log off; client_body_temp_path " << (root / "tmp").string() << ";\n"
      << "  proxy_temp_path " << (root / "tmp").string() << "; fastcgi_temp_path " << (root / "tmp").string()
      << "; uwsgi_temp_path " << (root / "tmp").string() << "; scgi_temp_path " << (root / "tmp").string() << ";\n"
      << "  server { listen 127.0.0.1:" << port << "; root " << (root / "html").string()
      << "; aio threads; sendfile off; location / { } } }\n";
  auto get = [&]() {
    int c = connect_loopback(port);
    std::string got;
    std::string req = "GET /data.txt HTTP/1.0\r\nHost: localhost\r\n\r\n";
    if (c >= 0 && write(c, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
      char buf[65536];
      ssize_t n;
      while ((n = read(c, buf, sizeof buf)) > 0) got.append(buf, static_cast<size_t>(n));
    }
    if (c >= 0) close(c);
    size_t head = got.find("\r\n\r\n");
    return head == std::string::npos ? std::string() : got.substr(head + 4);
  };
  std::atomic<int> good{0};
  std::thread load([&] {
    for (int i = 0; i < 200 && get().empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::vector<std::thread> clients;
    for (int k = 0; k < 8; ++k)
      clients.emplace_back([&] {
        for (int i = 0; i < 25; ++i)
          if (get() != body) return;
        good++;
      });
    for (auto& t : clients) t.join();
    std::string pid = slurp(root / "nginx.pid");
    if (!pid.empty()) kill(std::atoi(pid.c_str()), SIGQUIT);  // graceful stop: workers exit
  });
  ProgRun r = run_under("sys:nginx", {"-c", (root / "nginx.conf").string(), "-p", root.string()}, {}, 600);
  load.join();
  EXPECT_EQ(good.load(), 8) << "every client got every byte: " << slurp(root / "logs" / "error.log");
  EXPECT_EQ(r.exit_code, 0) << dump(r);
  ASSERT_TRUE(r.report.contains("findings")) << dump(r);
  EXPECT_EQ(r.report["findings"].size(), 0u) << dump(r);
  ASSERT_EQ(r.children.size(), 2u) << "each worker's own report: " << dump(r) << "\nerror.log:\n"
                                   << slurp(root / "logs" / "error.log");
  uint64_t worker_acquisitions = 0;
  for (const auto& w : r.children) {
    EXPECT_EQ(w["findings"].size(), 0u) << w.dump(2);
    worker_acquisitions += w["stats"]["acquisitions"].get<uint64_t>();
  }
  EXPECT_GT(worker_acquisitions, 400u) << "the workers' thread pools went unseen";
  EXPECT_EQ(slurp(root / "logs" / "error.log").find("lockhound"), std::string::npos)
      << "a report went to nginx's error log";
  fs::remove_all(root);
}

// MariaDB (InnoDB) under sysbench's OLTP read-write load: 4 client threads, 2,000 transactions
// over a Unix socket. A fresh data directory from mariadb-install-db, no networking, no grant
// tables; the server is stopped with mariadb-admin and must exit 0 with a clean report.
TEST_F(RealPrograms, MariadbUnderSysbenchOltp) {
  if (!installed("mariadbd") || !installed("mariadb-install-db") || !installed("mariadb-admin") ||
      !installed("mariadb") || !installed("sysbench"))
    GTEST_SKIP() << "mariadb-server or sysbench is not installed";
  char tmpl[] = "/tmp/lockhound-mariadb-XXXXXX";
  fs::path root = mkdtemp(tmpl);
  std::string data = (root / "data").string(), sock = (root / "s.sock").string();
  std::string user = geteuid() == 0 ? " --user=root" : "";
  ASSERT_EQ(std::system(("mariadb-install-db --no-defaults --datadir=" + data + user +
                         " --skip-test-db --innodb-log-file-size=4M >" + (root / "install.log").string() +
                         " 2>&1").c_str()),
            0)
      << slurp(root / "install.log");
  std::string sysbench = "sysbench oltp_read_write --db-driver=mysql --mysql-socket=" + sock +
                         " --mysql-db=sb --tables=2 --table-size=5000 ";
  std::string out = (root / "load.log").string();
  std::atomic<bool> loaded{false};
  std::thread load([&] {
    std::string ping = "mariadb-admin --no-defaults -S " + sock + " ping >/dev/null 2>&1";
    for (int i = 0; i < 600 && std::system(ping.c_str()) != 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    loaded = std::system(("mariadb --no-defaults -S " + sock + " -e 'create database sb' >" + out + " 2>&1 && " +
                          sysbench + "prepare >>" + out + " 2>&1 && " + sysbench +
                          "--threads=4 --events=2000 --time=0 run >>" + out + " 2>&1").c_str()) == 0;
    std::system(("mariadb-admin --no-defaults -S " + sock + " shutdown >>" + out + " 2>&1").c_str());
  });
  std::vector<std::string> args = {"--no-defaults", "--datadir=" + data, "--socket=" + sock,
                                   "--skip-networking", "--skip-grant-tables",
                                   "--innodb-buffer-pool-size=32M", "--innodb-log-file-size=4M"};
  if (geteuid() == 0) args.push_back("--user=root");
  ProgRun r = run_under("sys:mariadbd", args, {}, 600);
  load.join();
  std::string log = slurp(out);
  EXPECT_TRUE(loaded) << log;
  EXPECT_NE(log.find("transactions:                        2000"), std::string::npos) << log;
  // "ignored errors" may be non-zero, as in a plain run: InnoDB's row-lock deadlocks between the
  // clients' transactions, which sysbench retries.
  EXPECT_EQ(r.exit_code, 0) << dump(r);
  ASSERT_TRUE(r.report.contains("findings")) << dump(r);
  EXPECT_EQ(r.report["findings"].size(), 0u) << dump(r);
  EXPECT_GT(r.report["stats"]["acquisitions"].get<uint64_t>(), 100000u);
  fs::remove_all(root);
}

// memcached with four worker threads under a bounded loopback load: eight client connections
// setting, reading, incrementing and deleting keys.
TEST_F(RealPrograms, MemcachedUnderLoad) {
  if (!installed("memcached")) GTEST_SKIP() << "memcached is not installed";
  int port = free_loopback_port();
  ASSERT_GT(port, 0);
  auto connect_to = [&] { return connect_loopback(port); };
  // One request, the reply read up to its last line.
  auto ask = [](int c, const std::string& req, const std::string& last) {
    if (write(c, req.data(), req.size()) != static_cast<ssize_t>(req.size())) return std::string();
    std::string got;
    char buf[4096];
    while (got.size() < last.size() || got.compare(got.size() - last.size(), last.size(), last) != 0) {
      ssize_t n = read(c, buf, sizeof buf);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
    return got;
  };
  std::atomic<int> good{0};
  std::thread load([&] {
    int c = -1;
    for (int i = 0; i < 200 && (c = connect_to()) < 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (c < 0) return;
    ask(c, "set ctr 0 0 1\r\n0\r\n", "\r\n");
    std::vector<std::thread> clients;
    for (int k = 0; k < 8; ++k)
      clients.emplace_back([&, k] {
        int cc = connect_to();
        if (cc < 0) return;
        for (int i = 0; i < 1500; ++i) {
          std::string key = "k" + std::to_string(k) + "_" + std::to_string(i % 200);
          std::string val(static_cast<size_t>(i % 90 + 1), static_cast<char>('a' + k));
          if (ask(cc, "set " + key + " 0 0 " + std::to_string(val.size()) + "\r\n" + val + "\r\n",
                  "\r\n") != "STORED\r\n")
            return;
          if (ask(cc, "get " + key + "\r\n", "END\r\n").find(val) == std::string::npos) return;
          if (i % 25 == 0) {
            ask(cc, "incr ctr 1\r\n", "\r\n");
            ask(cc, "delete " + key + "\r\n", "\r\n");
          }
        }
        good++;
        close(cc);
      });
    for (auto& t : clients) t.join();
    std::string ctr = ask(c, "get ctr\r\n", "END\r\n");
    if (ctr.find("\r\n480\r\n") != std::string::npos) good += 100;  // 8 clients x 60 increments
    ask(c, "shutdown\r\n", "");
    close(c);
  });
  ProgRun r = run_under("sys:memcached",
                        {"-U", "0", "-l", "127.0.0.1", "-p", std::to_string(port), "-t", "4", "-m",
                         "32", "-A", "-u", "root"},
                        {}, 120);
  load.join();
  EXPECT_EQ(good.load(), 108) << "every client finished and the counter is exact";
  EXPECT_EQ(r.exit_code, 0) << dump(r);
  ASSERT_TRUE(r.report.contains("findings")) << dump(r);
  EXPECT_EQ(r.report["findings"].size(), 0u) << dump(r);
  EXPECT_GT(r.report["stats"]["acquisitions"].get<uint64_t>(), 10000u);
}

// A server under a bounded loopback load: redis with I/O threads, driven by redis-benchmark.
TEST_F(RealPrograms, RedisUnderLoad) {
  if (!installed("redis-server") || !installed("redis-benchmark") || !installed("redis-cli"))
    GTEST_SKIP() << "redis is not installed";
  int free_port = free_loopback_port();
  ASSERT_GT(free_port, 0);
  std::string port = std::to_string(free_port);
  std::thread load([&] {
    std::string ping = "redis-cli -p " + port + " ping >/dev/null 2>&1";
    for (int i = 0; i < 200 && std::system(ping.c_str()) != 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::system(("redis-benchmark -p " + port + " -n 3000 -c 8 -q -t set,get,lpush,lpop >" +
                 (dir_ / "bench.out").string() + " 2>&1").c_str());
    std::system(("redis-cli -p " + port + " shutdown nosave >/dev/null 2>&1").c_str());
  });
  ProgRun r = run_under("sys:redis-server",
                        {"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                         "--io-threads", "2", "--daemonize", "no"},
                        {}, 120);
  load.join();
  EXPECT_EQ(r.exit_code, 0) << dump(r);
  std::string bench = slurp(dir_ / "bench.out");
  EXPECT_NE(bench.find("GET:"), std::string::npos) << bench;
  ASSERT_TRUE(r.report.contains("findings")) << dump(r);
  EXPECT_EQ(r.report["findings"].size(), 0u) << dump(r);
  EXPECT_GT(r.report["stats"]["acquisitions"].get<uint64_t>(), 100u);
}

}  // namespace

namespace {
using namespace lockhound::rttest;

uint64_t acquisitions_of_all(const ProgRun& r) {
  uint64_t n = r.report.contains("stats") ? r.report["stats"]["acquisitions"].get<uint64_t>() : 0;
  for (const auto& c : r.children) n += c["stats"]["acquisitions"].get<uint64_t>();
  return n;
}

// sysbench's threads test: 4 threads hammer 8 mutexes (lock, yield, unlock) for 5,000 events.
// Its report has timings, so only the event count is compared.
TEST(RealProgramsLoad, SysbenchThreads) {
  if (std::system("command -v sysbench >/dev/null 2>&1") != 0) GTEST_SKIP() << "sysbench is not installed";
  ProgRun r = run_under("sys:sysbench", {"threads", "--threads=4", "--time=0", "--events=5000", "run"}, {}, 900);
  EXPECT_EQ(r.exit_code, 0) << dump(r);
  EXPECT_NE(r.out.find("total number of events:              5000"), std::string::npos) << r.out;
  ASSERT_TRUE(r.report.contains("findings")) << dump(r);
  EXPECT_EQ(r.report["findings"].size(), 0u) << dump(r);
  EXPECT_GT(r.report["stats"]["acquisitions"].get<uint64_t>(), 1000000u) << dump(r);
}

// stress-ng's pthread stressor: two worker processes (forked) that create and end thousands of
// threads, each taking a mutex and waiting on a condition variable. Every process is clean. The
// work is a count of operations (3,000), not a time: a busy machine takes longer, not less work.
TEST(RealProgramsLoad, StressNgPthreads) {
  if (std::system("command -v stress-ng >/dev/null 2>&1") != 0) GTEST_SKIP() << "stress-ng is not installed";
  ProgRun r = run_under("sys:stress-ng", {"--pthread", "2", "--pthread-ops", "3000", "-t", "600s", "-q"}, {}, 900);
  EXPECT_EQ(r.exit_code, 0) << dump(r);
  ASSERT_GE(r.children.size(), 2u) << dump(r);
  uint64_t threads = 0;
  for (const auto& c : r.children) {
    EXPECT_EQ(c["findings"].size(), 0u) << c.dump(2);
    threads += c["stats"]["contexts"].get<uint64_t>();
  }
  EXPECT_EQ(r.report["findings"].size(), 0u) << dump(r);
  EXPECT_GT(threads, 1000u) << "stress-ng made few threads: " << dump(r);
  EXPECT_GE(acquisitions_of_all(r), 3000u) << "at least one lock per operation";
}
}  // namespace
