// Bench worker, runnable by Node 8 (for naught 1.6.0) and by Node 20 alike: writes
// MEGABYTES of numbered lines to stdout as fast as the pipe takes them, then
// `w<N> done <lines> <ms when the first line was written>`, and then the file
// w<N>.written: `<bytes written> <ms when the first line was written>`. EXIT_WHEN_DONE=1
// (the plain-redirect baseline) exits afterwards. PER_LINE=1: one console.log per line
// instead of writes of 100 lines.
var http = require('http');
var total = Number(process.env.MEGABYTES) * 1024 * 1024;
var tag = 'w' + process.env.NAUGHT_WORKER;
var pad = new Array(81).join('x');
var perLine = process.env.PER_LINE === '1';
var server = http.createServer(function (req, res) { res.end('ok\n'); });
server.listen(Number(process.env.PORT || 0), '127.0.0.1', function () {
  if (process.send) process.send('online');
  var written = 0;
  var i = 0;
  var startedAt = Date.now();
  function batch() {
    while (written < total) {
      if (perLine) {
        // What most servers do: one console.log per line.
        var line = tag + ' ' + (i++) + ' ' + pad;
        written += line.length + 1;
        console.log(line);
        if (process.stdout.writableNeedDrain) return process.stdout.once('drain', batch);
        continue;
      }
      var chunk = '';
      for (var k = 0; k < 100; k++) chunk += tag + ' ' + (i++) + ' ' + pad + '\n';
      written += chunk.length;
      if (!process.stdout.write(chunk)) return process.stdout.once('drain', batch);
    }
    var last = tag + ' done ' + i + ' ' + startedAt + '\n';
    written += last.length;
    process.stdout.write(last, function () {
      // Tells the bench how many bytes to wait for on disk, so that it need not read them.
      require('fs').writeFileSync(tag + '.written', written + ' ' + startedAt);
      if (process.env.EXIT_WHEN_DONE) process.exit(0);
    });
  }
  batch();
});
process.on('message', function (message) {
  if (message === 'shutdown') server.close(function () { process.exit(0); });
});
