/* SPDX-License-Identifier: MIT */
/*
 * libcamera behind the C table of libcamera-shim.h: the only C++ in vzero.
 * It translates and relays; every decision about frames is on the C side
 * (libcamera.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <libcamera/base/object.h>
#include <libcamera/libcamera.h>

#include "libcamera-shim.h"

using namespace libcamera;

namespace
{

int64_t now_ns()
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void copy_str(char *dst, size_t len, const std::string &s)
{
	snprintf(dst, len, "%s", s.c_str());
}

} // namespace

/* libcamera starts threads (the manager's, a pipeline handler's, an IPA's)
 * that inherit the calling thread's signal mask.  A program that takes
 * SIGINT through a signalfd blocks it in its own threads only; with it open
 * in one of libcamera's, Ctrl-C would kill the program without its report.
 * Calls that may start a thread run with every signal blocked. */
class SignalsBlocked
{
	sigset_t old_;

      public:
	SignalsBlocked()
	{
		sigset_t all;
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old_);
	}
	~SignalsBlocked()
	{
		pthread_sigmask(SIG_SETMASK, &old_, nullptr);
	}
	SignalsBlocked(const SignalsBlocked &) = delete;
	SignalsBlocked &operator=(const SignalsBlocked &) = delete;
};

/* Completions waiting for pop(): one per request at most, and allocate()
 * makes no more requests than the ring holds, so it never fills and the
 * frame path allocates nothing. */
struct done_ring {
	static constexpr unsigned capacity = 32;
	vz_lcs_done e[capacity];
	unsigned head = 0, n = 0;

	bool push(const vz_lcs_done &d)
	{
		if (n == capacity)
			return false;
		e[(head + n++) % capacity] = d;
		return true;
	}
	bool pop(vz_lcs_done *out)
	{
		if (n == 0)
			return false;
		*out = e[head];
		head = (head + 1) % capacity;
		n--;
		return true;
	}
	void clear()
	{
		head = n = 0;
	}
};

struct vz_lcs {
	std::unique_ptr<CameraManager> cm;
	int event_fd = -1;
	std::shared_ptr<Camera> camera;
	std::unique_ptr<CameraConfiguration> config;
	Stream *stream = nullptr;
	std::unique_ptr<FrameBufferAllocator> allocator;
	std::vector<std::unique_ptr<Request>> requests;
	bool running = false;
	int64_t frame_ns = 0;

	std::mutex lock;
	done_ring done; /* under lock */
	std::atomic<bool> stopping{false};
	std::atomic<bool> gone{false};
	bool dead = false; /* forget()-ten: never touch the camera again */
	/* What forget() abandoned; never freed (see libcamera-shim.h). */
	std::vector<std::shared_ptr<Camera>> grave_cameras;
	std::vector<std::unique_ptr<Request>> grave_requests;
	std::vector<std::unique_ptr<FrameBufferAllocator>> grave_allocators;

	void signal_one()
	{
		uint64_t one = 1;
		/* The counter cannot overflow in practice; a full eventfd
		 * would only delay the wake-up, never lose the entry. */
		if (write(event_fd, &one, sizeof(one)) < 0) {
		}
	}

	void drain_events()
	{
		uint64_t v;
		while (read(event_fd, &v, sizeof(v)) > 0) {
		}
	}

	void on_complete(Request *req)
	{
		if (req->status() == Request::RequestCancelled && stopping.load())
			return;
		vz_lcs_done d;
		memset(&d, 0, sizeof(d));
		d.t_completed_ns = now_ns();
		d.index = (unsigned)req->cookie();
		FrameBuffer *fb = req->findBuffer(stream);
		if (req->status() == Request::RequestCancelled)
			d.status = VZ_LCS_FRAME_CANCELLED;
		if (fb) {
			const FrameMetadata &md = fb->metadata();
			if (md.status == FrameMetadata::FrameError)
				d.status = VZ_LCS_FRAME_ERROR;
			else if (md.status == FrameMetadata::FrameCancelled)
				d.status = VZ_LCS_FRAME_CANCELLED;
			d.sequence = md.sequence;
			d.timestamp_ns = md.timestamp;
			unsigned n = 0;
			for (const FrameMetadata::Plane &p : md.planes()) {
				if (n == VZ_MAX_PLANES)
					break;
				d.bytesused[n++] = p.bytesused;
			}
			d.nplanes = n;
		} else {
			d.status = VZ_LCS_FRAME_ERROR;
		}
		std::optional<int64_t> st = req->metadata().get(controls::SensorTimestamp);
		if (st) {
			d.has_sensor_ts = true;
			d.sensor_ts_ns = *st;
		}
		{
			std::lock_guard<std::mutex> g(lock);
			if (!done.push(d))
				return; /* cannot happen: see done_ring */
		}
		signal_one();
	}

	void on_disconnect()
	{
		gone.store(true);
		signal_one();
	}
};

/* CameraManager::removeCamera must run on the manager's thread, which is
 * the thread the camera object lives on. */
class Remover : public Object
{
      public:
	explicit Remover(CameraManager *cm) : cm_(cm)
	{
	}
	void remove(std::shared_ptr<Camera> camera)
	{
		cm_->removeCamera(camera);
	}

      private:
	CameraManager *cm_;
};

static int lcs_create(struct vz_lcs **out, int event_fd, struct vz_err *err)
{
	SignalsBlocked quiet;
	*out = nullptr;
	auto l = std::make_unique<vz_lcs>();
	l->event_fd = event_fd;
	l->cm = std::make_unique<CameraManager>();
	int r = l->cm->start();
	if (r < 0)
		return vz_err_set(err, r,
		                  "libcamera %s: the camera manager did not start: %s (is another "
		                  "libcamera user running in this process?)",
		                  CameraManager::version().c_str(), strerror(-r));
	*out = l.release();
	return 0;
}

static void lcs_stop(struct vz_lcs *l);
static void lcs_release(struct vz_lcs *l);

static void lcs_destroy(struct vz_lcs *l)
{
	if (!l)
		return;
	lcs_release(l);
	if (!l->grave_cameras.empty())
		/* Tearing the manager down would tear down the abandoned
		 * camera with it: leave both to the end of the process. */
		return;
	if (l->cm)
		l->cm->stop();
	delete l;
}

static unsigned lcs_count(struct vz_lcs *l)
{
	return (unsigned)l->cm->cameras().size();
}

static int lcs_describe(struct vz_lcs *l, unsigned index, struct vz_lcs_camera *out,
                        struct vz_err *err)
{
	memset(out, 0, sizeof(*out));
	std::vector<std::shared_ptr<Camera>> cams = l->cm->cameras();
	if (index >= cams.size())
		return vz_err_set(err, -ENODEV, "libcamera: no camera %u (%zu found)", index,
		                  cams.size());
	std::shared_ptr<Camera> cam = cams[index];
	copy_str(out->id, sizeof(out->id), cam->id());
	std::optional<std::string> model = cam->properties().get(properties::Model);
	if (model)
		copy_str(out->model, sizeof(out->model), *model);
	std::unique_ptr<CameraConfiguration> cfg =
	        cam->generateConfiguration({StreamRole::VideoRecording});
	if (!cfg || cfg->empty())
		return 0;
	const StreamFormats &sf = cfg->at(0).formats();
	for (const PixelFormat &pf : sf.pixelformats()) {
		if (out->nfmt == VZ_LCS_MAX_FMT)
			break;
		auto &f = out->fmt[out->nfmt++];
		f.drm_fourcc = pf.fourcc();
		f.modifier = pf.modifier();
		copy_str(f.name, sizeof(f.name), pf.toString());
		SizeRange r = sf.range(pf);
		f.min_w = r.min.width;
		f.min_h = r.min.height;
		f.max_w = r.max.width;
		f.max_h = r.max.height;
		f.step_w = r.hStep;
		f.step_h = r.vStep;
		for (const Size &s : sf.sizes(pf)) {
			if (f.nsizes == 16)
				break;
			f.sizes[f.nsizes][0] = s.width;
			f.sizes[f.nsizes][1] = s.height;
			f.nsizes++;
		}
	}
	return 0;
}

static int lcs_acquire(struct vz_lcs *l, const char *id, struct vz_err *err)
{
	SignalsBlocked quiet;
	lcs_release(l);
	std::shared_ptr<Camera> cam = l->cm->get(id);
	if (!cam)
		return vz_err_set(err, -ENODEV, "libcamera: camera '%s' is not present", id);
	int r = cam->acquire();
	if (r < 0)
		return vz_err_set(err, r, "libcamera: camera '%s' cannot be acquired: %s%s", id,
		                  strerror(-r),
		                  r == -EBUSY ? " (another process, e.g. cam or a GStreamer "
		                                "libcamerasrc, is using it)"
		                              : "");
	l->gone.store(false);
	l->camera = cam;
	cam->requestCompleted.connect(l, &vz_lcs::on_complete);
	cam->disconnected.connect(l, &vz_lcs::on_disconnect);
	return 0;
}

static int lcs_configure(struct vz_lcs *l, struct vz_lcs_config *c, struct vz_err *err)
{
	SignalsBlocked quiet;
	if (!l->camera)
		return vz_err_set(err, -ENODEV, "libcamera: no camera acquired");
	std::unique_ptr<CameraConfiguration> cfg =
	        l->camera->generateConfiguration({StreamRole::VideoRecording});
	if (!cfg || cfg->empty())
		return vz_err_set(err, -EINVAL,
		                  "libcamera: camera '%s' offers no video-recording stream",
		                  l->camera->id().c_str());
	StreamConfiguration &sc = cfg->at(0);
	if (c->drm_fourcc)
		sc.pixelFormat = PixelFormat(c->drm_fourcc);
	if (c->width && c->height)
		sc.size = Size(c->width, c->height);
	if (c->buffers)
		sc.bufferCount = c->buffers;
	std::string asked = sc.toString();
	unsigned asked_buffers = sc.bufferCount;
	CameraConfiguration::Status st = cfg->validate();
	if (st == CameraConfiguration::Invalid)
		return vz_err_set(err, -EINVAL, "libcamera: camera '%s' cannot stream %s",
		                  l->camera->id().c_str(), asked.c_str());
	c->adjusted = st == CameraConfiguration::Adjusted &&
	              (sc.toString() != asked || sc.bufferCount != asked_buffers);
	snprintf(c->adjusted_to, sizeof(c->adjusted_to), "%s, %u buffers", sc.toString().c_str(),
	         sc.bufferCount);
	int r = l->camera->configure(cfg.get());
	if (r < 0)
		return vz_err_set(err, r, "libcamera: configuring '%s' as %s failed: %s",
		                  l->camera->id().c_str(), sc.toString().c_str(), strerror(-r));
	c->drm_fourcc = sc.pixelFormat.fourcc();
	copy_str(c->fmt_name, sizeof(c->fmt_name), sc.pixelFormat.toString());
	c->width = sc.size.width;
	c->height = sc.size.height;
	c->buffers = sc.bufferCount;
	c->stride = sc.stride;
	c->frame_size = sc.frameSize;
	c->min_frame_ns = c->max_frame_ns = 0;
	const ControlInfoMap &ci = l->camera->controls();
	auto it = ci.find(&controls::FrameDurationLimits);
	if (it != ci.end()) {
		c->min_frame_ns = it->second.min().get<int64_t>() * 1000;
		c->max_frame_ns = it->second.max().get<int64_t>() * 1000;
	}
	if (c->want_frame_ns && it == ci.end())
		return vz_err_set(
		        err, -ENOTSUP,
		        "libcamera: camera '%s' does not let the frame rate be set (it has "
		        "no FrameDurationLimits control): leave out -r",
		        l->camera->id().c_str());
	l->frame_ns = c->want_frame_ns;
	l->stream = sc.stream();
	l->config = std::move(cfg);
	return 0;
}

static int lcs_allocate(struct vz_lcs *l, unsigned *count, unsigned *nplanes,
                        struct vz_lcs_plane planes[][VZ_MAX_PLANES], struct vz_err *err)
{
	if (!l->camera || !l->stream)
		return vz_err_set(err, -EINVAL, "libcamera: allocate before configure");
	l->requests.clear();
	l->allocator = std::make_unique<FrameBufferAllocator>(l->camera);
	int r = l->allocator->allocate(l->stream);
	if (r < 0)
		return vz_err_set(err, r, "libcamera: allocating buffers for '%s' failed: %s",
		                  l->camera->id().c_str(), strerror(-r));
	const std::vector<std::unique_ptr<FrameBuffer>> &bufs = l->allocator->buffers(l->stream);
	if (bufs.empty() || bufs.size() > *count || bufs.size() > done_ring::capacity)
		return vz_err_set(err, -ENOBUFS, "libcamera: %zu buffers allocated, room for %u",
		                  bufs.size(), std::min(*count, done_ring::capacity));
	unsigned np = 0;
	for (size_t i = 0; i < bufs.size(); i++) {
		const std::vector<FrameBuffer::Plane> &pl = bufs[i]->planes();
		if (pl.empty() || pl.size() > VZ_MAX_PLANES)
			return vz_err_set(err, -EINVAL, "libcamera: buffer %zu has %zu planes", i,
			                  pl.size());
		if (i == 0)
			np = (unsigned)pl.size();
		else if (pl.size() != np)
			return vz_err_set(err, -EINVAL, "libcamera: buffers differ in plane count");
		std::unique_ptr<Request> req = l->camera->createRequest(i);
		if (!req)
			return vz_err_set(err, -ENOMEM, "libcamera: cannot create a request");
		r = req->addBuffer(l->stream, bufs[i].get());
		if (r < 0)
			return vz_err_set(err, r, "libcamera: adding buffer %zu to a request: %s",
			                  i, strerror(-r));
		l->requests.push_back(std::move(req));
	}
	/* Only now hand out fds: nothing above can leave the caller with
	 * some of them on failure. */
	for (size_t i = 0; i < bufs.size(); i++) {
		const std::vector<FrameBuffer::Plane> &pl = bufs[i]->planes();
		for (unsigned p = 0; p < np; p++) {
			planes[i][p].fd = fcntl(pl[p].fd.get(), F_DUPFD_CLOEXEC, 3);
			planes[i][p].offset = pl[p].offset;
			planes[i][p].length = pl[p].length;
			planes[i][p].same_fd_as_prev =
			        p > 0 && pl[p].fd.get() == pl[p - 1].fd.get();
			if (planes[i][p].fd < 0) {
				int e = -errno;
				for (size_t j = 0; j <= i; j++)
					for (unsigned q = 0; q < np; q++)
						if ((j < i || q < p) && planes[j][q].fd >= 0)
							close(planes[j][q].fd);
				return vz_err_set(err, e, "libcamera: dup of a DMA-buf fd: %s",
				                  strerror(-e));
			}
		}
	}
	*count = (unsigned)bufs.size();
	*nplanes = np;
	return 0;
}

static int lcs_start(struct vz_lcs *l, struct vz_err *err)
{
	SignalsBlocked quiet;
	if (!l->camera)
		return vz_err_set(err, -ENODEV, "libcamera: no camera");
	if (l->running)
		return 0;
	l->stopping.store(false);
	ControlList ctrls(controls::controls);
	if (l->frame_ns) {
		int64_t us = l->frame_ns / 1000;
		int64_t lim[2] = {us, us};
		ctrls.set(controls::FrameDurationLimits, Span<const int64_t, 2>(lim));
	}
	int r = l->camera->start(&ctrls);
	if (r < 0)
		return vz_err_set(err, r, "libcamera: starting '%s' failed: %s",
		                  l->camera->id().c_str(), strerror(-r));
	l->running = true;
	return 0;
}

static int lcs_queue(struct vz_lcs *l, unsigned index, struct vz_err *err)
{
	if (index >= l->requests.size())
		return vz_err_set(err, -EINVAL, "libcamera: no request %u", index);
	Request *req = l->requests[index].get();
	if (req->status() != Request::RequestPending)
		req->reuse(Request::ReuseBuffers);
	int r = l->camera->queueRequest(req);
	if (r < 0)
		return vz_err_set(err, r, "libcamera: queueing request %u failed: %s", index,
		                  strerror(-r));
	return 0;
}

static void lcs_stop(struct vz_lcs *l)
{
	if (!l->camera || !l->running || l->dead)
		return;
	l->stopping.store(true);
	l->camera->stop();
	l->running = false;
	std::lock_guard<std::mutex> g(l->lock);
	l->done.clear();
	l->drain_events();
}

static void lcs_release(struct vz_lcs *l)
{
	if (!l->camera)
		return;
	if (l->dead) {
		for (auto &r : l->requests)
			l->grave_requests.push_back(std::move(r));
		l->requests.clear();
		if (l->allocator)
			l->grave_allocators.push_back(std::move(l->allocator));
		l->grave_cameras.push_back(std::move(l->camera));
		l->camera.reset();
		l->config.reset();
		l->stream = nullptr;
		l->running = false;
		l->dead = false;
		std::lock_guard<std::mutex> g(l->lock);
		l->done.clear();
		l->drain_events();
		l->gone.store(false);
		return;
	}
	lcs_stop(l);
	l->camera->requestCompleted.disconnect(l);
	l->camera->disconnected.disconnect(l);
	l->requests.clear();
	l->allocator.reset();
	l->config.reset();
	l->stream = nullptr;
	l->camera->release();
	l->camera.reset();
	std::lock_guard<std::mutex> g(l->lock);
	l->done.clear();
	l->drain_events();
	l->gone.store(false);
}

static int lcs_pop(struct vz_lcs *l, struct vz_lcs_done *out)
{
	std::lock_guard<std::mutex> g(l->lock);
	return l->done.pop(out) ? 1 : 0;
}

static bool lcs_disconnected(struct vz_lcs *l)
{
	return l->gone.load();
}

static void lcs_forget(struct vz_lcs *l)
{
	if (!l->camera || l->dead)
		return;
	l->dead = true;
	Remover *r = new Remover(l->cm.get());
	r->moveToThread(l->camera->thread());
	r->invokeMethod(&Remover::remove, ConnectionTypeBlocking, l->camera);
	r->deleteLater();
}

static std::string version_str = CameraManager::version();

static const struct vz_lcs_api api = {
        VZ_LCS_ABI,       version_str.c_str(),
        lcs_create,       lcs_destroy,
        lcs_count,        lcs_describe,
        lcs_acquire,      lcs_configure,
        lcs_allocate,     lcs_start,
        lcs_queue,        lcs_stop,
        lcs_release,      lcs_pop,
        lcs_disconnected, lcs_forget,
};

extern "C" __attribute__((visibility("default"))) const struct vz_lcs_api *vz_lcs_api(void)
{
	return &api;
}
